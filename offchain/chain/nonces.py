"""A thread-safe nonce manager for one sending account."""

from __future__ import annotations

import heapq
import threading

from web3 import Web3


class NonceManager:
    """Hands out consecutive nonces to concurrent senders of one account without asking the node each time.

    Rules:
      * the first reservation starts at the account's pending transaction count;
      * `reserve()` returns the lowest released nonce if there is one, else the next new one;
      * `release(n)`: the node refused the transaction signed with n, so n is handed out again next (the
        account's later transactions wait in the pool until n is used);
      * `resync()` after "nonce too low": moves the next nonce up to the chain's pending count (never down,
        so nonces reserved by other threads and not yet sent stay unique) and drops released nonces the
        chain has already used.
    """

    def __init__(self, w3: Web3, address: str) -> None:
        self._w3 = w3
        self._address = address
        self._lock = threading.Lock()
        self._next: int | None = None
        self._released: list[int] = []

    def _chain_pending(self) -> int:
        return self._w3.eth.get_transaction_count(self._address, "pending")

    def reserve(self) -> int:
        """The nonce for the next transaction of this account."""
        with self._lock:
            if self._released:
                return heapq.heappop(self._released)
            if self._next is None:
                self._next = self._chain_pending()
            nonce, self._next = self._next, self._next + 1
            return nonce

    def release(self, nonce: int) -> None:
        """Gives back a reserved nonce whose transaction the node refused."""
        with self._lock:
            if self._next is not None and nonce < self._next and nonce not in self._released:
                heapq.heappush(self._released, nonce)

    def resync(self) -> None:
        """Catches up with transactions this manager did not send (see the class rules)."""
        with self._lock:
            pending = self._chain_pending()
            self._released = [n for n in self._released if n >= pending]
            heapq.heapify(self._released)
            self._next = pending if self._next is None else max(self._next, pending)

