"""Single-use request nonces, remembered until the signature they came with expires."""

from __future__ import annotations

import heapq
import threading
import time
from typing import Protocol

from api.db import Database


class NonceStore(Protocol):
    def consume(self, address: str, nonce: str, expires_at: int) -> bool:
        """Record the nonce; False when `address` already used it (a replay)."""
        ...


class MemoryNonceStore:
    def __init__(self) -> None:
        self._used: set[tuple[str, str]] = set()
        self._expiry: list[tuple[int, str, str]] = []
        self._lock = threading.Lock()

    def consume(self, address: str, nonce: str, expires_at: int) -> bool:
        now = int(time.time())
        with self._lock:
            while self._expiry and self._expiry[0][0] < now:
                _, a, n = heapq.heappop(self._expiry)
                self._used.discard((a, n))
            if (address, nonce) in self._used:
                return False
            self._used.add((address, nonce))
            heapq.heappush(self._expiry, (expires_at, address, nonce))
            return True


class SqliteNonceStore:
    """Nonces in the gateway database, so a restart does not reopen the replay window."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def consume(self, address: str, nonce: str, expires_at: int) -> bool:
        with self.db.write() as conn:
            conn.execute("DELETE FROM used_nonces WHERE expires_at < ?", (int(time.time()),))
            cursor = conn.execute(
                "INSERT OR IGNORE INTO used_nonces (address, nonce, expires_at) VALUES (?, ?, ?)",
                (address, nonce, expires_at),
            )
            return cursor.rowcount == 1
