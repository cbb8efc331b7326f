"""Connecting to a JSON-RPC endpoint: URL check, retries, one-line transport errors, and batched requests."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

import requests
from web3 import HTTPProvider, Web3
from web3.exceptions import ProviderConnectionError
from web3.middleware import ExtraDataToPOAMiddleware

from offchain.chain.errors import ChainIdMismatchError, RpcUnreachableError

_ERRNO = re.compile(r"\[Errno -?\d+\][^'\")]*")

#: Most requests in one JSON-RPC batch: public Avalanche endpoints refuse larger batches.
MAX_BATCH = 40


def check_rpc_url(rpc_url: str) -> str:
    """`rpc_url` if it is an http(s) URL with a host and a valid port; ValueError (one line) otherwise, so a
    typo fails at once instead of after every retry."""
    parsed = urlparse(rpc_url)
    try:
        port = parsed.port  # raises ValueError for a port out of 0-65535 or not a number
    except ValueError:
        port = -1
    if parsed.scheme not in ("http", "https") or not parsed.hostname or port == -1 or port == 0:
        raise ValueError(f"RPC URL {rpc_url!r} is not an http(s)://host[:port] URL")
    return rpc_url


class KwxHTTPProvider(HTTPProvider):
    """HTTPProvider whose transport failures (refused, reset, timed out) raise RpcUnreachableError naming the
    URL in one line, so every caller sees one error type for "the node is not there"."""

    def make_request(self, method: Any, params: Any) -> Any:
        try:
            return super().make_request(method, params)
        except (requests.RequestException, ProviderConnectionError) as exc:
            raise RpcUnreachableError(f"RPC {self.endpoint_uri} unreachable ({_reason(exc)})") from exc

    def make_batch_request(self, batch_requests: Any) -> Any:
        try:
            return super().make_batch_request(batch_requests)
        except (requests.RequestException, ProviderConnectionError) as exc:
            raise RpcUnreachableError(f"RPC {self.endpoint_uri} unreachable ({_reason(exc)})") from exc


def connect(
    rpc_url: str,
    *,
    attempts: int = 5,
    backoff: float = 0.5,
    expected_chain_id: int | None = None,
    timeout: float = 30.0,
) -> Web3:
    """A Web3 connected to `rpc_url`, checked by asking for its chain id.

    A malformed URL is a ValueError at once. An endpoint that does not answer is retried `attempts` times
    in all, sleeping backoff, 2*backoff, 4*backoff, ... seconds in between; then RpcUnreachableError names
    the URL. `expected_chain_id`, if given, must match the served chain (ChainIdMismatchError otherwise).
    `timeout` is the per-request HTTP timeout in seconds. Avalanche C-Chain blocks carry more than 32 bytes
    of extraData, so the POA extraData middleware is always installed (harmless elsewhere). web3's
    validation middleware is removed: it asks for the chain id again before every call and transaction
    (two of a transaction's eight requests), and the chain id is checked here once.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    provider = KwxHTTPProvider(check_rpc_url(rpc_url), request_kwargs={"timeout": timeout},
                               exception_retry_configuration=None)
    w3 = Web3(provider)
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    w3.middleware_onion.remove("validation")
    failure: Exception = RpcUnreachableError("no answer")
    for attempt in range(attempts):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        try:
            chain_id = w3.eth.chain_id
        except RpcUnreachableError as exc:
            failure = exc.__cause__ or exc
            continue
        if expected_chain_id is not None and chain_id != expected_chain_id:
            raise ChainIdMismatchError(f"RPC {rpc_url} serves chain id {chain_id}, expected {expected_chain_id}")
        return w3
    raise RpcUnreachableError(f"RPC {rpc_url} unreachable after {attempts} attempts ({_reason(failure)})")


def rpc_batch(w3: Web3, calls: Sequence[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
    """The raw JSON-RPC responses (``{"result": ...}`` or ``{"error": {...}}``) of `calls`, in order, sent as
    batches of at most MAX_BATCH requests. A node that refuses batches (it answers one error object instead
    of a list) gets the calls one by one."""
    responses: list[dict[str, Any]] = []
    provider = w3.provider
    for start in range(0, len(calls), MAX_BATCH):
        chunk = list(calls[start:start + MAX_BATCH])
        answer = provider.make_batch_request(chunk) if len(chunk) > 1 else None
        if isinstance(answer, list) and len(answer) == len(chunk):
            responses.extend(answer)
        else:
            responses.extend(provider.make_request(method, params) for method, params in chunk)
    return responses


def _reason(failure: Exception) -> str:
    """A short, one-line cause: the OS error if there is one ("[Errno 111] Connection refused")."""
    text = str(failure)
    match = _ERRNO.search(text)
    if match:
        return match.group(0).strip()
    first_line = text.splitlines()[0][:120] if text else ""
    return f"{type(failure).__name__}: {first_line}"
