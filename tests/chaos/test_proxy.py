"""The chaos suite's RPC proxy on real sockets (127.0.0.1): it forwards, a cut drops open connections and
refuses new ones, and a restore lets them through again."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from crowdcompute.chaos.proxy import CuttableProxy


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(1024):
            self.request.sendall(data)


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def _echo(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(payload)
        return conn.recv(1024)


def test_the_proxy_forwards_until_cut_and_again_once_restored(echo_port: int) -> None:
    with CuttableProxy("127.0.0.1", echo_port) as proxy:
        assert _echo(proxy.port, b"before") == b"before"
        held = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        held.sendall(b"open")
        assert held.recv(1024) == b"open"

        proxy.cut()
        assert proxy.is_cut
        with pytest.raises(OSError):  # the open connection was dropped (a reset or end of stream)
            held.sendall(b"after the cut")
            if held.recv(1024) == b"":
                raise ConnectionResetError("closed by the cut")
        held.close()
        with pytest.raises(OSError):
            if _echo(proxy.port, b"during") == b"":
                raise ConnectionResetError("refused by the cut")
        assert proxy.refused >= 1

        proxy.restore()
        assert _echo(proxy.port, b"after") == b"after"
