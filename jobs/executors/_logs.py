"""A bounded, thread-safe buffer of an execution's output lines that many readers can follow."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterator

from jobs.executors.base import LogCallback

logger = logging.getLogger(__name__)


class LogBuffer:
    """Turns output chunks into lines; keeps the last `max_lines`; readers block for new lines.

    A line longer than `max_line_bytes` is cut into pieces, so output without newlines cannot grow
    memory without bound. Callbacks run on the feeding thread; one that raises is logged and dropped.
    """

    def __init__(self, *, max_lines: int = 10_000, max_line_bytes: int = 16_384) -> None:
        self._lines: deque[str] = deque(maxlen=max_lines)
        self._dropped = 0  # lines that fell off the front of the deque
        self._partial = b""
        self._max_line_bytes = max_line_bytes
        self._closed = False
        self._cond = threading.Condition()
        self._callbacks: list[LogCallback] = []
        self._feed_lock = threading.Lock()  # guards `_partial`; feeding and closing may race

    def subscribe(self, callback: LogCallback) -> None:
        with self._cond:
            self._callbacks.append(callback)

    def feed(self, chunk: bytes) -> None:
        with self._feed_lock:
            pieces = (self._partial + chunk).split(b"\n")
            self._partial = pieces.pop()
            size = self._max_line_bytes
            lines = [self._decode(p[i : i + size]) for p in pieces for i in range(0, max(len(p), 1), size)]
            while len(self._partial) > size:
                lines.append(self._decode(self._partial[:size]))
                self._partial = self._partial[size:]
            self._append(lines)

    def close(self) -> None:
        """No more output: flush an unterminated last line and wake every reader."""
        with self._feed_lock:
            if self._partial:
                self._append([self._decode(self._partial)])
                self._partial = b""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        with self._cond:
            return self._closed

    def tail(self, count: int) -> list[str]:
        with self._cond:
            return list(self._lines)[-count:] if count > 0 else []

    def last_line(self) -> str:
        """The last non-blank line, for one-line failure reasons."""
        with self._cond:
            for line in reversed(self._lines):
                if line.strip():
                    return line.strip()
        return ""

    def lines(self, *, follow: bool = True) -> Iterator[str]:
        """Lines from the oldest still kept; with `follow`, blocks for more until the buffer is closed."""
        position = 0  # absolute index of the next line to yield
        while True:
            with self._cond:
                while follow and not self._closed and position >= self._dropped + len(self._lines):
                    self._cond.wait()
                start = max(position, self._dropped)
                batch = list(self._lines)[start - self._dropped :]
                done = self._closed or not follow
            if start > position:
                yield f"[{start - position} earlier lines were dropped]"
            yield from batch
            position = start + len(batch)
            if done and not batch:
                return
            if not follow:
                return

    def _append(self, lines: list[str]) -> None:
        if not lines:
            return
        with self._cond:
            overflow = len(self._lines) + len(lines) - (self._lines.maxlen or 0)
            if overflow > 0:
                self._dropped += overflow
            self._lines.extend(lines)
            callbacks = list(self._callbacks)
            self._cond.notify_all()
        for callback in callbacks:
            for line in lines:
                try:
                    callback(line)
                except Exception:
                    logger.exception("a log callback raised; it gets no more lines")
                    with self._cond:
                        if callback in self._callbacks:
                            self._callbacks.remove(callback)
                    break

    @staticmethod
    def _decode(raw: bytes) -> str:
        return raw.decode("utf-8", errors="replace").rstrip("\r")
