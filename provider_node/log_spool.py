"""One job's log lines on disk until the gateway has them: numbered, in order, bounded, kept across restarts.

Lines get their seq when spooled, so a line keeps its number whatever happens to the gateway or this
node. The folder holds segment files of JSON lines (`seg-<first seq>.jsonl`) and `state.json`:

    delivered   every seq below it is at the gateway (the pusher says so after each accepted batch)
    offset      added to a seq on the wire (a gateway that holds other lines at our seqs: `rebase`)
    dropped     seq ranges given up when the spool was full
    sources     per execution, how many of its output lines are spooled (a re-attached container replays
                its output from the start: those lines are not spooled twice)

Full (`max_bytes` of undelivered lines): the head (the oldest `head_share` of the budget) and the newest
lines are kept; the oldest segment after the head is dropped and its seqs recorded as a dropped range.
Those seqs are never sent, so the gateway, and everyone reading the log, sees the gap.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from gateway_protocol import LogStream

__all__ = ["LogSpool", "SpooledLine"]

log = logging.getLogger(__name__)

STATE_FILE = "state.json"
_SEGMENT_PREFIX = "seg-"
_SEGMENT_SUFFIX = ".jsonl"


@dataclass(frozen=True, slots=True)
class SpooledLine:
    seq: int  # as sent to the gateway (the spool's seq plus its offset)
    text: str
    stream: LogStream
    ts: float | None


@dataclass(slots=True)
class _Segment:
    path: Path
    first: int
    last: int  # -1 while empty
    size: int


class LogSpool:
    """Thread-safe; `append` from the job's log thread, everything else from the pusher's thread."""

    def __init__(
        self,
        folder: Path,
        *,
        max_bytes: int = 32 * 1024 * 1024,
        segment_bytes: int | None = None,
        head_share: float = 0.5,
    ) -> None:
        if max_bytes < 16 * 1024:
            raise ValueError("a log spool needs max_bytes of at least 16 KiB")
        if not 0 < head_share < 1:
            raise ValueError("head_share must be between 0 and 1")
        self.folder = folder
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes or max(4096, max_bytes // 16)
        if self.segment_bytes * 4 > max_bytes:
            raise ValueError("segment_bytes must be at most a quarter of max_bytes")
        self.head_bytes = int(max_bytes * head_share)
        self._lock = threading.Lock()
        self._segments: list[_Segment] = []
        self._writer: BinaryIO | None = None
        self._read_pos = 0  # byte offset in the first segment of the first undelivered line
        self.delivered = 0
        self.offset = 0
        self.dropped: list[list[int]] = []
        self.sources: dict[str, int] = {}
        self._next = 0
        folder.mkdir(parents=True, exist_ok=True)
        self._load()

    # -- what the job writes -------------------------------------------------------------------------

    def append(
        self, text: str, *, stream: LogStream = "stdout", ts: float | None = None, source: str | None = None
    ) -> int:
        """Spool one line; its seq (before any `offset`)."""
        with self._lock:
            seq = self._next
            record: dict[str, Any] = {"s": seq, "t": text, "st": stream, "ts": ts}
            if source is not None:
                record["x"], record["o"] = source, self.sources.get(source, 0)
            data = json.dumps(record, separators=(",", ":")).encode() + b"\n"
            self._make_room(len(data))
            segment = self._current(len(data))
            writer = self._writer
            assert writer is not None
            writer.write(data)
            writer.flush()  # in the OS's hands: a crash of this process loses nothing
            segment.last, segment.size = seq, segment.size + len(data)
            self._next = seq + 1
            if source is not None:
                self.sources[source] = record["o"] + 1
            return seq

    def already_spooled(self, source: str) -> int:
        """How many output lines of execution `source` are spooled (or delivered) already."""
        with self._lock:
            return self.sources.get(source, 0)

    # -- what the pusher reads -----------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Undelivered lines (dropped ones excluded)."""
        with self._lock:
            return sum(max(0, s.last - max(s.first, self.delivered) + 1) for s in self._segments)

    @property
    def next_seq(self) -> int:
        with self._lock:
            return self._next

    def batch(self, max_lines: int, max_bytes: int) -> list[SpooledLine]:
        """The oldest undelivered lines, consecutive, from one segment, at most `max_lines`/`max_bytes`."""
        with self._lock:
            segment = next((s for s in self._segments if s.last >= max(s.first, self.delivered)), None)
            if segment is None:
                return []
            if segment is not self._segments[0] or self.delivered < segment.first:
                self._skip_to(segment)
            lines: list[SpooledLine] = []
            size = 0
            with segment.path.open("rb") as handle:
                handle.seek(self._read_pos)
                for raw in handle:
                    record = json.loads(raw)
                    size += len(raw)
                    if lines and size > max_bytes:
                        break
                    lines.append(
                        SpooledLine(
                            record["s"] + self.offset, record["t"], record.get("st", "stdout"), record["ts"]
                        )
                    )
                    if len(lines) >= max_lines or record["s"] >= segment.last:
                        break
            return lines

    def mark_delivered(self, wire_seq: int) -> None:
        """Every line up to `wire_seq` (as sent) is at the gateway: forget them."""
        with self._lock:
            through = wire_seq - self.offset
            if through < self.delivered:
                return
            segment = self._segments[0] if self._segments else None
            if segment is not None and segment.first <= through <= segment.last:
                self._read_pos = _position_after(segment.path, self._read_pos, through)
            self.delivered = through + 1
            while self._segments and self._segments[0].last < self.delivered and self._segments[0].last >= 0:
                self._remove_first()
            self._save_state()

    def rebase(self, gateway_next_seq: int) -> None:
        """The gateway holds other lines at our seqs (this node lost its spool once): send what is left
        from `gateway_next_seq` on."""
        with self._lock:
            self.offset = gateway_next_seq - self.delivered
            self._save_state()
            log.info("%s: the log goes on at the gateway's seq %d", self.folder, gateway_next_seq)

    def close(self) -> None:
        with self._lock:
            self._close_writer()
            self._save_state()

    def remove(self) -> None:
        """Delete the folder (everything delivered, the job's log complete)."""
        with self._lock:
            self._close_writer()
            for path in self.folder.iterdir():
                path.unlink(missing_ok=True)
            self.folder.rmdir()

    # -- inside -------------------------------------------------------------------------------------

    def _load(self) -> None:
        state_path = self.folder / STATE_FILE
        if state_path.is_file():
            state = json.loads(state_path.read_text())
            self.delivered = int(state.get("delivered", 0))
            self.offset = int(state.get("offset", 0))
            self.dropped = [list(map(int, pair)) for pair in state.get("dropped", [])]
            self.sources = {str(k): int(v) for k, v in state.get("sources", {}).items()}
            self._next = int(state.get("next", 0))
        paths = sorted(self.folder.glob(f"{_SEGMENT_PREFIX}*{_SEGMENT_SUFFIX}"), key=_first_of)
        for path in paths:
            segment = self._scan(path)
            if segment.last < 0 or segment.last < self.delivered:
                path.unlink()  # delivered before a crash that came before its removal
                continue
            self._segments.append(segment)
            self._next = max(self._next, segment.last + 1)
        self._next = max(self._next, self.delivered)
        self._read_pos = 0
        if self._segments and self._segments[0].first < self.delivered:
            self._read_pos = _position_after(self._segments[0].path, 0, self.delivered - 1)

    def _scan(self, path: Path) -> _Segment:
        """A segment's range; a torn last line (a crash mid-write) is cut off."""
        first, last, good = _first_of(path), -1, 0
        with path.open("rb") as handle:
            for raw in handle:
                if not raw.endswith(b"\n"):
                    break
                try:
                    record = json.loads(raw)
                except ValueError:
                    break
                last = int(record["s"])
                if "x" in record:
                    source = str(record["x"])
                    self.sources[source] = max(self.sources.get(source, 0), int(record["o"]) + 1)
                good += len(raw)
        if good != path.stat().st_size:
            with path.open("r+b") as handle:
                handle.truncate(good)
        return _Segment(path, first, last, good)

    def _current(self, incoming: int) -> _Segment:
        segment = self._segments[-1] if self._segments else None
        if segment is None or (segment.size and segment.size + incoming > self.segment_bytes):
            self._close_writer()
            segment = _Segment(
                self.folder / f"{_SEGMENT_PREFIX}{self._next:016d}{_SEGMENT_SUFFIX}", self._next, -1, 0
            )
            self._segments.append(segment)
        if self._writer is None:
            self._writer = segment.path.open("ab")
        return segment

    def _make_room(self, incoming: int) -> None:
        """Drop the oldest segment after the head until `incoming` bytes fit."""
        while sum(s.size for s in self._segments) + incoming > self.max_bytes:
            kept = 0
            victim: _Segment | None = None
            for index, segment in enumerate(self._segments[:-1]):  # never the one being written
                kept += segment.size
                if index > 0 and kept > self.head_bytes:
                    victim = segment
                    break
            if victim is None:
                return  # only the head and the segment being written: over by less than a segment
            self._segments.remove(victim)
            victim.path.unlink(missing_ok=True)
            self._record_drop(victim.first, victim.last)

    def _record_drop(self, first: int, last: int) -> None:
        if self.dropped and self.dropped[-1][1] + 1 == first:
            self.dropped[-1][1] = last
        else:
            self.dropped.append([first, last])
            log.warning(
                "%s: the log spool is full (%d bytes): lines from seq %d on are dropped, keeping the first "
                "and the newest lines; the gateway will show the gap",
                self.folder,
                self.max_bytes,
                first + self.offset,
            )
        self._save_state()

    def _skip_to(self, segment: _Segment) -> None:
        """Segments before `segment` hold nothing undelivered: move the read position to its start."""
        while self._segments and self._segments[0] is not segment:
            self._remove_first()
        self.delivered = max(self.delivered, segment.first)
        self._read_pos = 0

    def _remove_first(self) -> None:
        segment = self._segments.pop(0)
        if not self._segments:
            self._close_writer()
        segment.path.unlink(missing_ok=True)
        self._read_pos = 0

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _save_state(self) -> None:
        state = {
            "delivered": self.delivered,
            "offset": self.offset,
            "dropped": self.dropped,
            "sources": self.sources,
            "next": self._next,
        }
        tmp = self.folder / f"{STATE_FILE}.tmp"
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self.folder / STATE_FILE)


def _first_of(path: Path) -> int:
    return int(path.name[len(_SEGMENT_PREFIX) : -len(_SEGMENT_SUFFIX)])


def _position_after(path: Path, start: int, seq: int) -> int:
    """The byte offset just after the line with `seq`, reading from `start`."""
    position = start
    with path.open("rb") as handle:
        handle.seek(start)
        for raw in handle:
            position += len(raw)
            if json.loads(raw)["s"] >= seq:
                break
    return position
