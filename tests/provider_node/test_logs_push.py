"""Log relay to the gateway (signed as the gateway checks it), from the pusher and from a running node;
through a gateway that goes away and comes back, a node restart, and a spool that fills up."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from typer.testing import CliRunner

from chain import JobStatus, MarketClient, dev_account
from chain.anvil import free_port
from crowdcompute.job_cli import job_app
from gateway_protocol import lines_hash, log_batch_typed_data, recover_signer
from jobs.executors.noop import NoopExecutor
from jobs.store import EmbeddedStore
from provider_node.daemon import ProviderNode
from provider_node.log_spool import LogSpool
from provider_node.logs_push import LogPusher, LogRelay
from tests.api.gateway_keys import PROVIDER_KEY
from tests.api.restartable_gateway import RestartableGateway, gateway_settings, index_claimed_job
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


def test_log_pusher_signs_batches_as_the_gateway_verifies_them(gateway: StubGateway, tmp_path: Path) -> None:
    account = dev_account(2)
    pusher = LogPusher(gateway.url, account, 31337, 7, LogSpool(tmp_path / "7"), flush_interval_s=0.05)
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


def test_log_pusher_continues_where_the_gateways_log_ends_after_a_conflict(
    gateway: StubGateway, tmp_path: Path
) -> None:
    gateway.conflict_at = 4  # a node that lost its spool numbers from 0 again; the gateway holds 0..3
    pusher = LogPusher(gateway.url, dev_account(2), 31337, 7, LogSpool(tmp_path / "7"), flush_interval_s=0.05)
    pusher.add("replayed")
    pusher.close()
    assert [line["seq"] for line in gateway.lines()] == [4]


def test_log_pusher_never_blocks_when_the_gateway_is_down_and_keeps_the_lines(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    pusher = LogPusher(url, dev_account(2), 31337, 7, LogSpool(tmp_path / "7"), close_timeout_s=0.5)
    began = time.monotonic()
    for i in range(1000):
        pusher.add(f"line {i}")
    assert time.monotonic() - began < 0.5
    pusher.close()
    assert pusher.sent == 0 and pusher.failures >= 1
    assert pusher.alive, "a closed log goes on waiting for the gateway"
    pusher.stop()
    assert not pusher.alive and LogSpool(tmp_path / "7").pending == 1000


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
    node_b = make_node(
        provider_b, NoopExecutor(log_lines=["x"]), name="b", gateway_url=dead, publish_max_wait_s=1.0
    )
    node_b.step()
    assert node_b.wait_idle(30)
    assert requester.status_of(unrelayed) == JobStatus.SUBMITTED
    deadline = time.monotonic() + 10
    while len(gateway.lines()) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    texts = [line["text"] for line in gateway.lines()]
    assert texts[:2] == ["epoch 1 loss 0.5", "epoch 2 loss 0.25"] and "execution ended succeeded" in texts[2]
    assert all(push["path"] == f"/jobs/{relayed}/logs" for push in gateway.pushes)


# -- against a real gateway that goes away and comes back --------------------------------------------


def _stored(url: str, job_id: int) -> dict[str, Any]:
    """Every line the gateway holds for the job, and the gaps among them."""
    response = httpx.get(f"{url}/jobs/{job_id}/logs", params={"limit": 10_000}, trust_env=False)
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()
    return payload


def _wait_stored(url: str, job_id: int, next_seq: int, timeout_s: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            payload = _stored(url, job_id)
            if payload["next_seq"] >= next_seq:
                return payload
        except httpx.TransportError:
            payload = {}
        assert time.monotonic() < deadline, f"the gateway holds {payload.get('next_seq')} lines of {next_seq}"
        time.sleep(0.1)


def test_lines_written_while_the_gateway_is_down_all_arrive_in_order(tmp_path: Path) -> None:
    """The job prints 1200 lines over ~6 s; the gateway goes away after ~1 s and comes back ~6 s later,
    after the job has ended. Every line arrives, once, in order, with no gap."""
    gateway = RestartableGateway(gateway_settings(tmp_path / "gateway"))
    index_claimed_job(gateway.start(), 1)
    spool = LogSpool(tmp_path / "provider" / "logs" / "1")
    pusher = LogPusher(
        gateway.url,
        Account.from_key(PROVIDER_KEY),
        31337,
        1,
        spool,
        flush_interval_s=0.05,
        max_backoff_s=0.5,
        close_timeout_s=0.5,
    )
    total = 1200

    def job() -> None:
        for i in range(total):
            pusher.add(f"line {i}")
            time.sleep(0.005)

    printer = threading.Thread(target=job)
    printer.start()
    time.sleep(1.0)
    gateway.stop()
    down_at = time.monotonic()
    printer.join()
    pusher.close()  # the job ended while the gateway was away
    assert pusher.alive, "the log is not delivered yet; the pusher waits for the gateway"
    time.sleep(max(0.0, 6.0 - (time.monotonic() - down_at)))
    gateway.start()
    try:
        stored = _wait_stored(gateway.url, 1, total)
    finally:
        pusher.stop()
        gateway.stop()
    assert pusher.failures >= 1, "the pusher met the outage"
    assert stored["count"] == total
    assert [line["seq"] for line in stored["data"]] == list(range(total))
    assert [line["text"] for line in stored["data"]] == [f"line {i}" for i in range(total)]
    assert stored["gaps"] == []
    assert not spool.folder.exists(), "a complete, delivered log leaves no spool behind"


def test_a_restarted_node_delivers_its_spool_and_spools_replayed_output_once(tmp_path: Path) -> None:
    """Lines spooled while the gateway was down survive the node's restart; a re-attached container
    replays its output from the start, and only the lines not spooled before are added."""
    url = f"http://127.0.0.1:{free_port()}"
    account = Account.from_key(PROVIDER_KEY)
    folder = tmp_path / "provider" / "logs"
    options: dict[str, Any] = {"flush_interval_s": 0.05, "max_backoff_s": 0.5, "close_timeout_s": 0.5}
    first_run = LogRelay(url, account, 31337, folder, **options)
    pusher = first_run.pusher(1)
    pusher.add("[provider: execution started]")
    output = pusher.output("job1-a1-t1")
    for i in range(100):
        output(f"epoch {i}")
    first_run.stop()  # the node is killed; the container runs on

    gateway = RestartableGateway(gateway_settings(tmp_path / "gateway"), port=int(url.rsplit(":", 1)[1]))
    index_claimed_job(gateway.start(), 1)
    second_run = LogRelay(url, account, 31337, folder, **options)
    try:
        assert second_run.resume(active=lambda job_id: True) == [1]
        again = second_run.pusher(1)
        replay = again.output("job1-a1-t1")  # re-attached: the output comes again from its first line
        for i in range(150):
            replay(f"epoch {i}")
        again.add("[provider: execution ended succeeded]")
        second_run.complete(1)
        stored = _wait_stored(url, 1, 152)
        deadline = time.monotonic() + 10
        while (folder / "1").exists():
            assert time.monotonic() < deadline, "the delivered spool was not removed"
            time.sleep(0.05)
    finally:
        second_run.stop()
        gateway.stop()
    texts = [line["text"] for line in stored["data"]]
    expected = ["[provider: execution started]", *[f"epoch {i}" for i in range(150)]]
    assert texts == [*expected, "[provider: execution ended succeeded]"]
    assert [line["seq"] for line in stored["data"]] == list(range(152))


def test_a_full_spool_keeps_head_and_tail_and_the_gap_shows_in_the_api_and_the_cli(tmp_path: Path) -> None:
    """3000 lines while the gateway is down, into a 64 KiB spool: the first and the newest lines are
    delivered; the dropped range is a gap in GET /jobs/1/logs and a marked line in `job logs`."""
    url = f"http://127.0.0.1:{free_port()}"
    spool = LogSpool(tmp_path / "logs" / "1", max_bytes=64 * 1024, segment_bytes=4096)
    pusher = LogPusher(
        url, Account.from_key(PROVIDER_KEY), 31337, 1, spool, flush_interval_s=0.05, max_backoff_s=0.3
    )
    total = 3000
    for i in range(total):
        pusher.add(f"line {i} " + "x" * 40)
    assert len(spool.dropped) == 1, spool.dropped
    first, last = spool.dropped[0]
    assert 0 < first < last < total - 1
    pusher.close(wait=False)

    gateway = RestartableGateway(gateway_settings(tmp_path / "gateway"), port=int(url.rsplit(":", 1)[1]))
    index_claimed_job(gateway.start(), 1)
    try:
        stored = _wait_stored(url, 1, total)
        text = CliRunner().invoke(job_app, ["logs", "1", "--gateway", url])
        as_json = CliRunner().invoke(job_app, ["logs", "1", "--gateway", url, "--json"])
    finally:
        pusher.stop()
        gateway.stop()
    seqs = [line["seq"] for line in stored["data"]]
    assert seqs == [*range(first), *range(last + 1, total)], "the head and the tail, in order"
    assert stored["gaps"] == [{"first": first, "last": last}]
    assert text.exit_code == 0, text.output
    printed = text.stdout.splitlines()
    marker = printed.index(f"[lines {first}\u2013{last} not received]")
    assert printed[marker - 1].startswith(f"line {first - 1} ") and printed[marker + 1].startswith(
        f"line {last + 1} "
    )
    assert len(printed) == len(seqs) + 1
    assert json.loads(as_json.stdout)["gaps"] == [{"first": first, "last": last}]
