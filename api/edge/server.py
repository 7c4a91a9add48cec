"""uvicorn as the gateway runs it: a timeout on request heads, keep-alive, connection and header limits.

uvicorn times out idle keep-alive connections but not a client that sends its request head a byte at a
time (slowloris); `HeadTimeoutH11Protocol` closes a connection whose head is not complete in time.
"""

from __future__ import annotations

import asyncio
import json
import logging

import h11
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from api.errors import RequestTimeoutError
from api.settings import Settings

log = logging.getLogger(__name__)


class HeadTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose request head takes over `head_timeout_s`.

    The clock starts when the connection opens, or when the first byte of a later request on it arrives,
    and is not reset by further bytes: a slow client cannot keep it alive by trickling."""

    head_timeout_s = 10.0

    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self._arm_head_timer()  # a head is on its way (or the first bytes of the next one)
        else:
            self._cancel_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.conn.their_state is not h11.IDLE or self.transport.is_closing():
            return
        client = self.client[0] if self.client else None
        log.info("request head timed out", extra={"client": client})
        error = RequestTimeoutError(
            f"the request head was not complete within {self.head_timeout_s:g} s "
            "(CROWDCOMPUTE_GATEWAY_HEADER_TIMEOUT_S)"
        )
        body = json.dumps(error.to_public().model_dump(exclude_none=True)).encode()
        head = (
            "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        )
        self.transport.write(head.encode() + body)
        self.transport.close()


def protocol_class(head_timeout_s: float) -> type[HeadTimeoutH11Protocol]:
    """A `HeadTimeoutH11Protocol` with this timeout, for `uvicorn.Config(http=...)`."""
    return type("HeadTimeoutH11Protocol", (HeadTimeoutH11Protocol,), {"head_timeout_s": head_timeout_s})


def uvicorn_config(
    app: FastAPI, settings: Settings, *, host: str, port: int, **extra: object
) -> uvicorn.Config:
    """The uvicorn configuration `crowdcompute gateway serve` runs the gateway with."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol_class(settings.header_timeout_s),
        timeout_keep_alive=settings.keep_alive_timeout_s,
        limit_concurrency=settings.max_connections,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        proxy_headers=False,
        log_config=None,
        access_log=False,
        **extra,  # type: ignore[arg-type]
    )
