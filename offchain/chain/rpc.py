"""Connecting to a JSON-RPC endpoint with retries."""

from __future__ import annotations

import re
import time

import requests
from web3 import HTTPProvider, Web3
from web3.exceptions import ProviderConnectionError
from web3.middleware import ExtraDataToPOAMiddleware

from offchain.chain.errors import ChainIdMismatchError, RpcUnreachableError

_ERRNO = re.compile(r"\[Errno -?\d+\][^'\")]*")


def connect(
    rpc_url: str,
    *,
    attempts: int = 5,
    backoff: float = 0.5,
    expected_chain_id: int | None = None,
    timeout: float = 30.0,
) -> Web3:
    """A Web3 connected to `rpc_url`, checked by asking for its chain id.

    An endpoint that does not answer is retried `attempts` times in all, sleeping backoff, 2*backoff,
    4*backoff, ... seconds in between; then RpcUnreachableError names the URL. `expected_chain_id`, if
    given, must match the served chain (ChainIdMismatchError otherwise). `timeout` is the per-request HTTP
    timeout in seconds. Avalanche C-Chain blocks carry more than 32 bytes of extraData, so the POA
    extraData middleware is always installed (harmless elsewhere).
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None))
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    failure: Exception = RpcUnreachableError("no answer")
    for attempt in range(attempts):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        try:
            chain_id = w3.eth.chain_id
        except (requests.RequestException, ProviderConnectionError, OSError) as exc:
            failure = exc
            continue
        if expected_chain_id is not None and chain_id != expected_chain_id:
            raise ChainIdMismatchError(f"RPC {rpc_url} serves chain id {chain_id}, expected {expected_chain_id}")
        return w3
    raise RpcUnreachableError(f"RPC {rpc_url} unreachable after {attempts} attempts ({_reason(failure)})")


def _reason(failure: Exception) -> str:
    """A short, one-line cause: the OS error if there is one ("[Errno 111] Connection refused")."""
    text = str(failure)
    match = _ERRNO.search(text)
    if match:
        return match.group(0).strip()
    first_line = text.splitlines()[0][:120] if text else ""
    return f"{type(failure).__name__}: {first_line}"
