"""Clients that misbehave on purpose, for tests and benches of the log relay: Server-Sent Events readers
that never read, and the resident memory of a gateway process (Linux `/proc`)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["close_streams", "open_idle_streams", "rss_mib"]


def open_idle_streams(
    url: str,
    path: str,
    count: int,
    *,
    receive_buffer: int | None = 4096,
    headers: Mapping[str, str] | None = None,
    source: str | None = None,
) -> list[socket.socket]:
    """`count` connections to the gateway at `url` (http://127.0.0.1:PORT) that each ask for `path` (e.g.
    `/jobs/1/logs?follow=true`) and then never read a byte. A small `receive_buffer` makes the server's
    writes back up after a few KiB instead of the megabytes a loopback socket takes by default. `source`
    (a loopback address such as 127.0.0.7) makes them another client than 127.0.0.1."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n{extra}\r\n"
    ).encode()
    opened: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if receive_buffer is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)  # before connect
            if source is not None:
                sock.bind((source, 0))
            sock.connect((host, port))
            sock.sendall(request)
            opened.append(sock)
    except BaseException:
        close_streams(opened)
        raise
    return opened


def close_streams(streams: Iterable[socket.socket]) -> None:
    """Close them, unread data and all (the peer sees a reset)."""
    for sock in streams:
        with contextlib.suppress(OSError):
            sock.close()


def rss_mib(pid: int) -> float:
    """Resident memory of process `pid` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"no VmRSS for process {pid}")
