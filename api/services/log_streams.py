"""Bounds on log streams (`GET /jobs/{id}/logs?follow=true`): how many are open, and how slow a reader may be.

A stream holds a slot from the moment it is accepted until its response ends; slots are counted per client
IP and in all. A client that stops taking data makes the server's `send` wait (uvicorn waits for the
socket to drain): after `send_timeout_s` the stream is closed and its slot freed, so a reader that never
reads costs at most one poll's batch and the socket's buffers, and only for that long.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import AsyncIterable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from api.errors import BusyError, RateLimitedError

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5.0


class StreamSlots:
    """Open log streams, per client IP and in all; `acquire` refuses one beyond either cap."""

    def __init__(self, *, per_ip: int, total: int, poll_threads: int = 4) -> None:
        self.per_ip = per_ip
        self.total = total
        self.pollers = ThreadPoolExecutor(poll_threads, thread_name_prefix="log-stream-poll")
        """Where every stream's database polls run: a few threads (each with its own SQLite connection
        and page cache) however many streams are open."""
        self._by_ip: dict[str, int] = {}
        self._open = 0
        self._lock = threading.Lock()

    @property
    def open(self) -> int:
        return self._open

    def open_for(self, ip: str) -> int:
        return self._by_ip.get(ip, 0)

    def acquire(self, ip: str) -> StreamSlot:
        with self._lock:
            if self._open >= self.total:
                raise BusyError(
                    f"the gateway holds {self.total} log streams, as many as it is set to; try again later, "
                    "or read the log page by page (GET without follow)",
                    RETRY_AFTER_S,
                )
            held = self._by_ip.get(ip, 0)
            if held >= self.per_ip:
                raise RateLimitedError(
                    f"{ip} already follows {held} log streams, the most one client may hold; "
                    "close one before opening another",
                    RETRY_AFTER_S,
                )
            self._by_ip[ip] = held + 1
            self._open += 1
        return StreamSlot(self, ip)

    def _release(self, ip: str) -> None:
        with self._lock:
            self._open -= 1
            left = self._by_ip[ip] - 1
            if left:
                self._by_ip[ip] = left
            else:
                del self._by_ip[ip]
            idle = self._open == 0
        if idle:
            _return_free_memory()


def _load_malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    return trim


_malloc_trim = _load_malloc_trim()


def _return_free_memory() -> None:
    """Hand the heap's free pages back to the system once the last stream closes: many streams' buffers,
    freed, otherwise stay in the process (glibc keeps them for reuse)."""
    if _malloc_trim is not None:
        _malloc_trim(0)


class StreamSlot:
    def __init__(self, slots: StreamSlots, ip: str) -> None:
        self._slots: StreamSlots | None = slots
        self.ip = ip

    def release(self) -> None:
        """Give the slot back (once; later calls do nothing)."""
        slots, self._slots = self._slots, None
        if slots is not None:
            slots._release(self.ip)


class LogEventStream(StreamingResponse):
    """Server-Sent Events that hold `slot` while they run and end when the client takes no data for
    `send_timeout_s`."""

    def __init__(
        self,
        content: AsyncIterable[str],
        *,
        slot: StreamSlot,
        send_timeout_s: float,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(content, media_type="text/event-stream", headers=headers)
        self.slot = slot
        self.send_timeout_s = send_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.slot.release()

    async def stream_response(self, send: Send) -> None:
        async def timed_send(message: Message) -> None:
            with anyio.fail_after(self.send_timeout_s):
                await send(message)

        try:
            await super().stream_response(timed_send)
        except TimeoutError:
            # Returning with the response unfinished makes the server close the connection.
            log.warning(
                "closed a log stream: its client (%s) took no data for %s s",
                self.slot.ip,
                self.send_timeout_s,
            )
        finally:
            close = getattr(self.body_iterator, "aclose", None)
            if close is not None:
                await close()
