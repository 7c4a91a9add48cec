"""Read one contract's events in chain order, in block ranges, behind a confirmation depth, resumably.

`EventReader.poll()` returns one batch; `follow()` yields events forever and commits the checkpoint after
each batch has been handed out (at-least-once: a consumer that dies mid-batch sees that batch again).
Checkpoints go through a small `CheckpointStore` protocol: in memory, a JSON file, or the gateway's SQLite.
Reorgs deeper than `confirmations` are not handled: pick a depth the chain honours.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from chain.abi import ContractCodec, DecodedLog
from chain.errors import ChainError, RpcError, RpcUnreachable
from chain.rpc import Rpc

log = logging.getLogger(__name__)

T = TypeVar("T")

_RANGE_TOO_LARGE = ("range", "too many", "limit", "exceed", "more than")


class CheckpointStore(Protocol):
    """Where readers remember the last block they fully processed, per key."""

    def load(self, key: str) -> int | None: ...

    def save(self, key: str, block: int) -> None: ...


class MemoryCheckpointStore:
    """Checkpoints for the life of the process."""

    def __init__(self) -> None:
        self._blocks: dict[str, int] = {}

    def load(self, key: str) -> int | None:
        return self._blocks.get(key)

    def save(self, key: str, block: int) -> None:
        self._blocks[key] = block


class JsonCheckpointStore:
    """Checkpoints in one small JSON file (`{key: block}`), replaced atomically on each save."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _read(self) -> dict[str, int]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return {str(k): int(v) for k, v in data.items()}

    def load(self, key: str) -> int | None:
        with self._lock:
            return self._read().get(key)

    def save(self, key: str, block: int) -> None:
        with self._lock:
            data = self._read()
            data[key] = block
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, sort_keys=True)
            os.replace(tmp, self.path)


@dataclass(frozen=True)
class EventBatch:
    """The events of blocks `from_block..to_block` (inclusive), in (block, logIndex) order."""

    events: list[DecodedLog]
    from_block: int
    to_block: int

    @property
    def empty_range(self) -> bool:
        return self.to_block < self.from_block


class EventReader:
    """Decoded events of one contract, oldest first, never closer than `confirmations` blocks to the head."""

    def __init__(
        self,
        rpc: Rpc,
        address: str,
        codec: ContractCodec,
        events: Sequence[str] | None = None,
        *,
        start_block: int = 0,
        confirmations: int = 0,
        batch_blocks: int = 2_000,
        checkpoints: CheckpointStore | None = None,
        checkpoint_key: str | None = None,
        topic_filters: Sequence[Any] = (),
        retries: int = 5,
        backoff: float = 0.2,
        max_backoff: float = 10.0,
        poll_interval: float = 1.0,
    ) -> None:
        names = list(events) if events is not None else list(codec.events)
        self.rpc = rpc
        self.address = address
        self.codec = codec
        self.topics = [codec.event(name).topic for name in names]
        self.confirmations = confirmations
        self.batch_blocks = batch_blocks
        self.checkpoints = checkpoints or MemoryCheckpointStore()
        self.checkpoint_key = checkpoint_key or f"{rpc.chain_id}:{address}:{','.join(sorted(names))}"
        self.topic_filters = list(topic_filters)
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.poll_interval = poll_interval
        saved = self.checkpoints.load(self.checkpoint_key)
        self.next_block = saved + 1 if saved is not None else start_block

    def safe_head(self) -> int:
        """The newest block with `confirmations` blocks on top of it."""
        return self._retrying(self.rpc.block_number) - self.confirmations

    def poll(self, *, commit: bool = True) -> EventBatch:
        """Fetch the next range (at most `batch_blocks` blocks, up to the safe head)."""
        head = self.safe_head()
        start = self.next_block
        end = min(head, start + self.batch_blocks - 1)
        if end < start:
            return EventBatch([], start, start - 1)
        events = self._fetch(start, end)
        batch = EventBatch(events, start, end)
        if commit:
            self.commit(batch)
        return batch

    def commit(self, batch: EventBatch) -> None:
        """Mark `batch` processed: the next poll starts after it, and the checkpoint is saved."""
        if batch.empty_range:
            return
        self.next_block = batch.to_block + 1
        self.checkpoints.save(self.checkpoint_key, batch.to_block)

    def catch_up(self) -> list[DecodedLog]:
        """Every event from the checkpoint up to the safe head, committing as it goes."""
        events: list[DecodedLog] = []
        while True:
            batch = self.poll()
            events.extend(batch.events)
            if batch.empty_range or batch.to_block >= self.safe_head():
                return events

    def follow(self, stop: threading.Event | None = None) -> Iterator[DecodedLog]:
        """Yield events forever (until `stop` is set); RPC failures are logged and retried with backoff."""
        delay = self.backoff
        while stop is None or not stop.is_set():
            try:
                batch = self.poll(commit=False)
            except ChainError as exc:
                log.warning("event reader %s: %s; retrying in %.1f s", self.checkpoint_key, exc, delay)
                _sleep(delay, stop)
                delay = min(delay * 2, self.max_backoff)
                continue
            delay = self.backoff
            yield from batch.events
            self.commit(batch)
            if batch.empty_range:
                _sleep(self.poll_interval, stop)

    def _fetch(self, start: int, end: int) -> list[DecodedLog]:
        """Logs of [start, end], halving the range when the node says it is too large."""
        try:
            raw = self._retrying(
                lambda: self.rpc.get_logs(
                    address=self.address,
                    from_block=start,
                    to_block=end,
                    topics=[self.topics, *self.topic_filters],
                )
            )
        except RpcError as exc:
            if end > start and any(word in exc.rpc_message.lower() for word in _RANGE_TOO_LARGE):
                middle = (start + end) // 2
                return self._fetch(start, middle) + self._fetch(middle + 1, end)
            raise
        decoded = [event for event in map(self.codec.decode_log, raw) if event is not None]
        decoded.sort(key=lambda e: e.position)
        return decoded

    def _retrying(self, call: Callable[[], T]) -> T:
        delay = self.backoff
        for attempt in range(self.retries):
            try:
                return call()
            except (RpcUnreachable, RpcError) as exc:
                if isinstance(exc, RpcError) and any(w in exc.rpc_message.lower() for w in _RANGE_TOO_LARGE):
                    raise
                if attempt == self.retries - 1:
                    raise
                log.info("RPC failed (%s); retry %d in %.2f s", exc, attempt + 1, delay)
                time.sleep(delay)
                delay = min(delay * 2, self.max_backoff)
        raise AssertionError("unreachable")


def _sleep(seconds: float, stop: threading.Event | None) -> None:
    if stop is None:
        time.sleep(seconds)
    else:
        stop.wait(seconds)
