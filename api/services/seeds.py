"""Block hashes from the gateway's RPC node: a job's committee is drawn with its seed block's hash."""

from __future__ import annotations

import threading

from api.errors import ServiceUnavailableError
from chain import ChainError, Rpc

__all__ = ["BlockHashes"]


class BlockHashes:
    """Block hashes from the gateway's RPC node (the seed of a job's committee is its seed block's hash)."""

    def __init__(self, rpc_url: str, chain_id: int, timeout_s: float) -> None:
        self._url, self._chain_id, self._timeout_s = rpc_url, chain_id, timeout_s
        self._cache: dict[int, bytes] = {}
        self._lock = threading.Lock()
        self._rpc: Rpc | None = None

    def __call__(self, block: int) -> bytes | None:
        """The hash of `block`, or None while it is not mined (raises `ServiceUnavailableError` when the
        node cannot be reached)."""
        with self._lock:
            if block in self._cache:
                return self._cache[block]
        try:
            rpc = self._rpc or Rpc.connect(
                self._url, expected_chain_id=self._chain_id, timeout=self._timeout_s
            )
            self._rpc = rpc
            if rpc.block_number() < block:
                return None
            found = bytes.fromhex(str(rpc.get_block(block)["hash"]).removeprefix("0x"))
        except ChainError as exc:
            self._rpc = None
            raise ServiceUnavailableError(
                f"the chain node is unreachable, so seats cannot be checked: {exc}"
            ) from exc
        with self._lock:
            self._cache[block] = found
        return found
