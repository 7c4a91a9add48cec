"""`/readyz` on the open internet: it never shows the RPC URL, and many clients cost one check per period."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from chain.anvil import free_port
from tests.api.live_gateway import serve


class FakeNode:
    """A JSON-RPC node on 127.0.0.1 that answers `eth_chainId` and `eth_blockNumber`, counting requests."""

    def __init__(self, chain_id: int, delay_s: float = 0.0) -> None:
        self.chain_id = chain_id
        self.delay_s = delay_s
        self.requests = 0
        self.lock = threading.Lock()


@contextmanager
def fake_node(chain_id: int = 31337, delay_s: float = 0.0) -> Iterator[tuple[FakeNode, str]]:
    node = FakeNode(chain_id, delay_s)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            with node.lock:
                node.requests += 1
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            time.sleep(node.delay_s)
            result = {"eth_chainId": hex(node.chain_id), "eth_blockNumber": "0x10"}.get(request["method"])
            body = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield node, f"http://127.0.0.1:{server.server_address[1]}/v3/SECRETPATH?apikey=SECRETQUERY"
    finally:
        server.shutdown()
        server.server_close()


SECRETS = ("SECRETPATH", "SECRETQUERY", "hunter2", "/v3/")


def rpc_detail(client: TestClient) -> str:
    response = client.get("/readyz")
    assert response.status_code == 503
    assert not any(secret in response.text for secret in SECRETS), response.text
    return str(next(c for c in response.json()["checks"] if c["name"] == "rpc")["detail"])


def test_an_unreachable_rpc_is_named_without_its_url(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://operator:hunter2@127.0.0.1:{free_port()}/v3/SECRETPATH?apikey=SECRETQUERY"
    app = create_app(make_settings(rpc_url=url, public_rpc_url="https://rpc.example"))
    with TestClient(app) as client, caplog.at_level("WARNING", logger="api.services.readiness"):
        assert rpc_detail(client) == "RPC not usable: connection refused"
    assert "SECRETPATH" in caplog.text  # the operator's log has the whole error


def test_a_node_on_another_chain_is_named_without_its_url(make_settings: Callable[..., Settings]) -> None:
    with fake_node(chain_id=1) as (_, url):
        app = create_app(make_settings(rpc_url=url))
        with TestClient(app) as client:
            assert rpc_detail(client) == "RPC not usable: wrong chain id (the node serves 1; expected 31337)"


def test_a_slow_node_is_named_without_its_url(make_settings: Callable[..., Settings]) -> None:
    with fake_node(delay_s=1.0) as (_, url):
        app = create_app(make_settings(rpc_url=url, rpc_timeout_s=0.2))
        with TestClient(app) as client:
            assert rpc_detail(client) == "RPC not usable: timed out"


def test_concurrent_probes_share_one_check_and_its_answer_is_cached(
    make_settings: Callable[..., Settings],
) -> None:
    with fake_node(delay_s=0.3) as (node, url):
        app = create_app(make_settings(rpc_url=url, readiness_cache_s=60))
        with serve(app) as base, httpx.Client(base_url=base, timeout=10) as http:
            with ThreadPoolExecutor(12) as pool:
                answers = list(pool.map(lambda _: http.get("/readyz"), range(12)))
            assert {a.status_code for a in answers} == {503}  # no deployment file
            assert {a.json()["checks"][0]["detail"] for a in answers} == {"chain 31337 at block 16"}
            assert node.requests == 2  # one check: eth_chainId and eth_blockNumber
            http.get("/readyz")
            assert node.requests == 2 and app.state.gateway.readiness.checks_run == 1


def test_an_expired_answer_is_checked_again(make_settings: Callable[..., Settings]) -> None:
    with fake_node() as (node, url):
        app = create_app(make_settings(rpc_url=url, readiness_cache_s=0))
        with TestClient(app) as client:
            client.get("/readyz")
            client.get("/readyz")
        assert node.requests == 4


def test_redaction_covers_every_part_of_the_url() -> None:
    from api.services.readiness import redact

    url = "https://user:pa55@eth.example/v3/KEY123?token=TOK456#frag789"
    text = f"RPC unreachable or failing: no JSON-RPC node answers at {url}: ConnectionError; path /v3/KEY123"
    redacted = redact(text, url)
    assert not any(part in redacted for part in ("pa55", "user:", "KEY123", "TOK456", "frag789"))
    assert "ConnectionError" in redacted
