"""Log relay to the gateway (signed as the gateway checks it), from the pusher and from a running node."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from chain import JobStatus, MarketClient, dev_account
from chain.anvil import free_port
from gateway_protocol import lines_hash, log_batch_typed_data, recover_signer
from jobs.executors.noop import NoopExecutor
from jobs.store import EmbeddedStore
from provider_node.daemon import ProviderNode
from provider_node.logs_push import LogPusher
from tests.provider_node.provider_jobs import make_bundle, post_job


class StubGateway:
    """Records log pushes; answers like the gateway (next_seq), or 409 once when told to."""

    def __init__(self) -> None:
        self.pushes: list[dict[str, Any]] = []
        self.conflict_at: int | None = None
        self.next_seq = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._reply(200, {"data": [], "count": 0, "next_seq": stub.next_seq, "job_state": "claimed"})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                batch = json.loads(body)
                first = batch["lines"][0]["seq"]
                if stub.conflict_at is not None:
                    stub.next_seq, stub.conflict_at = stub.conflict_at, None
                    self._reply(409, {"code": "conflict", "detail": "already stored with other content"})
                    return
                stub.pushes.append({"path": self.path, "body": body, "headers": dict(self.headers)})
                stub.next_seq = first + len(batch["lines"])
                self._reply(
                    200, {"accepted": len(batch["lines"]), "duplicates": 0, "next_seq": stub.next_seq}
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def lines(self) -> list[dict[str, Any]]:
        return [line for push in self.pushes for line in json.loads(push["body"])["lines"]]


@pytest.fixture
def gateway() -> Iterator[StubGateway]:
    stub = StubGateway()
    yield stub
    stub.server.shutdown()
    stub.server.server_close()


def test_log_pusher_signs_batches_as_the_gateway_verifies_them(gateway: StubGateway) -> None:
    account = dev_account(2)
    pusher = LogPusher(gateway.url, account, 31337, 7, flush_interval_s=0.05)
    for i in range(5):
        pusher.add(f"line {i}")
    pusher.close()
    assert [line["seq"] for line in gateway.lines()] == list(range(5))
    assert [line["text"] for line in gateway.lines()] == [f"line {i}" for i in range(5)]
    for push in gateway.pushes:
        assert push["path"] == "/jobs/7/logs"
        headers = push["headers"]
        first = json.loads(push["body"])["lines"][0]["seq"]
        typed = log_batch_typed_data(
            31337, 7, first, lines_hash(push["body"]), int(headers["X-Crowd-Expiry"])
        )
        assert recover_signer(typed, headers["X-Crowd-Signature"]) == account.address.lower()
        assert headers["X-Crowd-Address"] == account.address


def test_log_pusher_continues_where_the_gateways_log_ends_after_a_conflict(gateway: StubGateway) -> None:
    gateway.conflict_at = 4  # a restarted node replays lines the gateway holds with other content
    pusher = LogPusher(gateway.url, dev_account(2), 31337, 7, flush_interval_s=0.05)
    pusher.add("replayed")
    pusher.close()
    assert [line["seq"] for line in gateway.lines()] == [4]


def test_log_pusher_never_blocks_when_the_gateway_is_down() -> None:
    pusher = LogPusher(f"http://127.0.0.1:{free_port()}", dev_account(2), 31337, 7, close_timeout_s=0.5)
    began = time.monotonic()
    for i in range(1000):
        pusher.add(f"line {i}")
    assert time.monotonic() - began < 0.5
    pusher.close()
    assert pusher.sent == 0 and pusher.failures >= 1


def test_node_relays_the_jobs_log_and_an_unreachable_gateway_never_stops_a_job(
    make_node: Callable[..., ProviderNode],
    provider: MarketClient,
    provider_b: MarketClient,
    requester: MarketClient,
    store: EmbeddedStore,
    gateway: StubGateway,
    tmp_path: Path,
) -> None:
    cid = make_bundle(store, tmp_path / "job")
    relayed, unrelayed = post_job(requester, cid), post_job(requester, cid)
    executor = NoopExecutor(log_lines=["epoch 1 loss 0.5", "epoch 2 loss 0.25"])
    make_node(provider, executor, name="a", gateway_url=gateway.url, tie_break=False).step()
    dead = f"http://127.0.0.1:{free_port()}"
    node_b = make_node(provider_b, NoopExecutor(log_lines=["x"]), name="b", gateway_url=dead)
    node_b.step()
    assert node_b.wait_idle(30)
    assert requester.status_of(unrelayed) == JobStatus.SUBMITTED
    deadline = time.monotonic() + 10
    while len(gateway.lines()) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    texts = [line["text"] for line in gateway.lines()]
    assert texts[:2] == ["epoch 1 loss 0.5", "epoch 2 loss 0.25"] and "execution ended succeeded" in texts[2]
    assert all(push["path"] == f"/jobs/{relayed}/logs" for push in gateway.pushes)
