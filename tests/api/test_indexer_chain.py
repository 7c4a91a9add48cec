"""The indexer against a real anvil: a job's whole life through the API, crash-restart, and RPC outages."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.db import Database
from api.indexer.checkpoint import INDEX_TABLES, load_checkpoint
from api.indexer.runner import Indexer, default_source_factory
from api.main import create_app
from api.settings import Settings
from chain import ROUND_1_SEATS, Deployment, MarketClient, Outcome, Rpc, SignedVote, save_deployment
from chain.anvil import AnvilProcess, DevChain, free_port
from tests.api.chain_cast import CHEAP_SPEC, RESULT, SPEC, Cast, make_cast
from tests.chain.market_cast import mine_until_settleable

pytestmark = pytest.mark.slow


@pytest.fixture
def cast(market: MarketClient) -> Cast:
    return make_cast(market)


@pytest.fixture
def chain_settings(
    make_settings: Callable[..., Settings], tmp_path: Path, anvil: AnvilProcess, deployment: Deployment
) -> Settings:
    save_deployment(deployment, tmp_path / "deployments")
    return make_settings(rpc_url=anvil.url, indexer_batch_blocks=50)


def fresh_index(settings: Settings, path: Path) -> Database:
    db = Database(path)
    Indexer(db, default_source_factory(settings)).catch_up()
    return db


def dump(db_path: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(db_path)
    try:
        out = {table: sorted(map(tuple, conn.execute(f"SELECT * FROM {table}"))) for table in INDEX_TABLES}
        out["checkpoint"] = [(load_checkpoint(conn),)]
        return out
    finally:
        conn.close()


def wait_for(condition: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.index_backends("sqlite", "postgresql")
def test_a_jobs_life_through_the_api(cast: Cast, chain_settings: Settings, dev_chain: DevChain) -> None:
    posted = cast.requester.post_job(SPEC)
    job_id = posted.job_id
    cast.provider.claim_job(job_id)
    cast.provider.submit_result(job_id, RESULT)
    roster = cast.requester.roster_of(job_id)
    votes = cast.vote_all(job_id)
    cancelled = cast.requester.post_job(SPEC).job_id
    cast.requester.cancel_job(cancelled)

    app = create_app(chain_settings)
    assert app.state.gateway.indexer.catch_up() > 0
    with TestClient(app) as client:
        requester = cast.requester.me.lower()
        jobs = client.get("/jobs", params={"requester": requester}).json()
        assert jobs["count"] == 2 and [j["id"] for j in jobs["data"]] == [cancelled, job_id]
        assert client.get("/jobs", params={"state": "Cancelled", "requester": requester}).json()["count"] == 1

        job = client.get(f"/jobs/{job_id}").json()
        assert job["state"] == "Accepted" and job["provider"] == cast.provider.me.lower()
        assert job["budget"] == str(SPEC.budget) and job["reward"] == str(posted.job.spec.reward)
        assert job["checkpoint_count"] == RESULT.checkpoint_count and job["accepts"] == 3
        assert job["roster_root"] == "0x" + bytes(cast.requester.jobs.job(job_id).state.roster_root).hex()
        events = [e["event"] for e in job["timeline"]]
        assert events[:3] == ["JobPosted", "JobClaimed", "ResultSubmitted"]
        assert (
            events.count("VoteCast") == 3
            and "JobFinalized" in events
            and events[-1] in ("ProviderPaid", "BalanceCredited")
        )
        assert all(e["timestamp"] for e in job["timeline"])
        assert {v["validator"] for v in job["votes"]} == {v.validator.lower() for v in votes}

        provider = client.get(f"/providers/{cast.provider.me}").json()
        assert provider["completed_jobs"] >= 1 and int(provider["earnings"]) >= SPEC.budget
        assert provider["locked"] == "0" and provider["gpu_memory_mib"] == 8192
        assert int(provider["stake"]) == cast.provider.account_of().stake
        validators = client.get("/validators").json()
        assert validators["count"] >= 3 and all(
            v["live"] and int(v["weight"]) > 0 for v in validators["data"]
        )
        assert {(m.validator.lower(), m.index, m.weight) for m in roster.members()} <= {
            (v["address"], v["leaf"], int(v["weight"])) for v in validators["data"]
        }
        voters = [v for v in validators["data"] if v["address"] in {x["validator"] for x in job["votes"]}]
        assert all(int(v["earnings"]) >= SPEC.validator_fee for v in voters)
        stats = client.get("/stats").json()
        assert stats["jobs_by_state"].get("Accepted", 0) >= 1 and stats["last_block"] >= job["updated_block"]


def test_confirmations_hold_back_the_newest_blocks(
    cast: Cast,
    make_settings: Callable[..., Settings],
    chain_settings: Settings,
    rpc: Rpc,
    dev_chain: DevChain,
) -> None:
    first = cast.requester.post_job(SPEC).job_id
    second = cast.requester.post_job(SPEC).job_id
    settings = make_settings(
        rpc_url=chain_settings.rpc_url, deployments_dir=chain_settings.deployments_dir, confirmations=1
    )
    db = fresh_index(settings, settings.db_path)
    conn = db.connection()
    assert load_checkpoint(conn) == rpc.block_number() - 1
    indexed = {row[0] for row in conn.execute("SELECT job_id FROM jobs")}
    assert first in indexed and second not in indexed
    db.close()


def _serve(settings: Settings, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CROWDCOMPUTE_GATEWAY_ENVIRONMENT": "test",
        "CROWDCOMPUTE_GATEWAY_API_KEYS": '["k"]',
        "CROWDCOMPUTE_GATEWAY_RPC_URL": settings.rpc_url,
        "CROWDCOMPUTE_GATEWAY_DATA_DIR": str(settings.data_dir),
        "CROWDCOMPUTE_GATEWAY_DEPLOYMENTS_DIR": str(settings.deployments_dir),
        "CROWDCOMPUTE_GATEWAY_INDEXER_BATCH_BLOCKS": "1",
        "CROWDCOMPUTE_GATEWAY_INDEXER_POLL_INTERVAL_S": "0.1",
    }
    code = "import sys; from api.cli import gateway_app; sys.exit(gateway_app())"
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-c", code, "serve", "--port", str(port)], env=env, stdout=log, stderr=log
        )


def test_the_index_survives_kills_mid_indexing(
    cast: Cast, chain_settings: Settings, dev_chain: DevChain, rpc: Rpc, tmp_path: Path
) -> None:
    for _ in range(120):
        job_id = cast.requester.post_job(CHEAP_SPEC).job_id
        if job_id % 3 == 0:
            cast.provider.claim_job(job_id)
        if job_id % 9 == 0:
            cast.provider.submit_result(job_id, RESULT)
    head = rpc.block_number()
    db_path = chain_settings.db_path

    def checkpoint() -> int:
        if not db_path.exists():
            return -1
        conn = sqlite3.connect(db_path, timeout=5)
        try:
            return load_checkpoint(conn) or -1
        except sqlite3.OperationalError:  # the schema is not there yet
            return -1
        finally:
            conn.close()

    kills = []
    port = free_port()
    for stop_at in (0.3, 0.6):
        server = _serve(chain_settings, port, tmp_path / "gateway.log")
        start = max(checkpoint(), 0)
        wait_for(lambda: checkpoint() >= start + (head - start) * stop_at, 60, "indexing progress")  # noqa: B023
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        kills.append(checkpoint())
    assert all(0 < k < head for k in kills), f"killed at {kills}, head {head}: not mid-indexing"

    server = _serve(chain_settings, port, tmp_path / "gateway.log")
    try:
        wait_for(lambda: checkpoint() >= head, 60, "catch-up after restart")
        served = httpx.get(f"http://127.0.0.1:{port}/jobs", params={"limit": 1}, timeout=10).json()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(15)
    assert served["count"] >= 120

    reference = fresh_index(chain_settings, tmp_path / "reference.sqlite")
    reference.close()
    restarted, fresh = dump(db_path), dump(tmp_path / "reference.sqlite")
    assert restarted["checkpoint"] == fresh["checkpoint"]
    for table in INDEX_TABLES:
        assert restarted[table] == fresh[table], f"table {table} differs after kills and restart"
    assert len(restarted["events"]) >= 120 + 40


class Proxy:
    """A TCP forwarder that can be cut and restored, to take the RPC node away from the indexer."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            connections, self._connections = self._connections, []
        # shutdown() first: close() alone does not wake a thread blocked in accept() or recv().
        for sock in ([listener] if listener is not None else []) + connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self._lock:
                self._connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        for s in (source, target):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def proxy(anvil: AnvilProcess) -> Iterator[Proxy]:
    forwarder = Proxy(anvil.port)
    forwarder.start()
    yield forwarder
    forwarder.cut()


def test_the_indexer_rides_out_an_rpc_outage(
    cast: Cast,
    make_settings: Callable[..., Settings],
    chain_settings: Settings,
    proxy: Proxy,
    dev_chain: DevChain,
) -> None:
    settings = make_settings(
        rpc_url=proxy.url,
        indexer_enabled=True,
        indexer_poll_interval_s=0.1,
        indexer_backoff_max_s=0.5,
        deployments_dir=chain_settings.deployments_dir,
        readiness_cache_s=0,  # each probe sees the outage as it happens
    )
    first = cast.requester.post_job(SPEC).job_id
    with TestClient(create_app(settings)) as client:
        indexer = client.app.state.gateway.indexer  # type: ignore[attr-defined]
        wait_for(lambda: client.get(f"/jobs/{first}").status_code == 200, what="the first job indexed")
        wait_for(lambda: client.get("/readyz").status_code == 200, what="ready")

        proxy.cut()
        second = cast.requester.post_job(SPEC).job_id  # straight to anvil, behind the indexer's back
        wait_for(lambda: indexer.status.waiting_for is not None, what="the indexer to notice the outage")
        assert "RPC" in indexer.status.waiting_for
        # The API keeps serving what it has, and says it is not ready.
        assert client.get(f"/jobs/{first}").status_code == 200
        assert client.get(f"/jobs/{second}").status_code == 404
        readiness = client.get("/readyz")
        assert readiness.status_code == 503 and any("RPC" in w for w in readiness.json()["waiting_for"])

        proxy.start()
        wait_for(lambda: client.get(f"/jobs/{second}").status_code == 200, what="indexing to resume")
        assert indexer.status.waiting_for is None


def test_votes_relayed_through_the_gateway_decide_the_job(
    cast: Cast, chain_settings: Settings, dev_chain: DevChain
) -> None:
    """On a real chain: the gateway checks each seat against the job's snapshot and seed, keeps the votes
    private until every seat voted, and the votes it reveals are the ones `finalize` accepts."""
    job_id = cast.requester.post_job(SPEC).job_id
    cast.provider.claim_job(job_id)
    cast.provider.submit_result(job_id, RESULT)
    votes = cast.sign_all(job_id)
    app = create_app(chain_settings)
    with TestClient(app) as client:
        app.state.gateway.indexer.catch_up()
        intruder = next(v for v in cast.validators if v.me != votes[0].validator)
        stolen = intruder.sign_vote(job_id, 0, True)
        assert client.post(f"/jobs/{job_id}/votes", json=stolen.to_json()).status_code == 403
        for vote in votes:
            answer = client.post(f"/jobs/{job_id}/votes", json=vote.to_json())
            assert answer.status_code == 202, answer.text
            if vote is not votes[-1]:
                assert client.get(f"/jobs/{job_id}/votes").status_code == 409
        revealed = client.get(f"/jobs/{job_id}/votes").json()["votes"]
    mine_until_settleable(cast.provider, job_id)
    done = cast.provider.finalize(job_id, [SignedVote.from_json(v) for v in revealed])
    assert (done.outcome, done.accepts) == (Outcome.ACCEPTED, 3)


def test_the_gateway_follows_an_appeal_round(
    cast: Cast, chain_settings: Settings, dev_chain: DevChain
) -> None:
    """On a real chain: round 0's votes are relayed and revealed, the provider appeals with them, the gateway
    indexes round 1 (31 seats, drawn afresh), relays and reveals its votes and keeps round 0's readable."""
    job_id = cast.requester.post_job(SPEC).job_id
    cast.provider.claim_job(job_id)
    cast.provider.submit_result(job_id, RESULT)
    rejections = cast.sign_all(job_id, approve=False)
    app = create_app(chain_settings)
    with TestClient(app) as client:
        indexer = app.state.gateway.indexer
        indexer.catch_up()
        for vote in rejections:
            assert client.post(f"/jobs/{job_id}/votes", json=vote.to_json()).status_code == 202
        first = [SignedVote.from_json(v) for v in client.get(f"/jobs/{job_id}/votes").json()["votes"]]
        assert first == rejections

        dev_chain.mine(SPEC.verify_blocks + 1)  # the vote window closed: the appeal window is open
        appealed = cast.provider.appeal(job_id, first)
        approvals = cast.sign_all(job_id)  # the new round's seed block, then its 31 seats
        assert {v.round for v in approvals} == {1} and len(approvals) == ROUND_1_SEATS
        indexer.catch_up()

        job = client.get(f"/jobs/{job_id}").json()
        assert (job["round"], job["submit_block"]) == (1, appealed.tx.block_number)
        [appeal] = job["appeals"]
        assert appeal["appellant"] == cast.provider.me.lower()
        assert (appeal["round"], int(appeal["bond"])) == (1, appealed.bond)
        assert appeal["block_number"] == appealed.tx.block_number

        stale = client.post(f"/jobs/{job_id}/votes", json=rejections[0].to_json())
        assert stale.status_code == 409 and "in round 1 now" in stale.json()["detail"]
        for vote in approvals:
            answer = client.post(f"/jobs/{job_id}/votes", json=vote.to_json())
            assert answer.status_code == 202, answer.text
            if vote is not approvals[-1]:
                assert client.get(f"/jobs/{job_id}/votes").status_code == 409
        revealed = client.get(f"/jobs/{job_id}/votes").json()
        assert revealed["round"] == 1
        second = [SignedVote.from_json(v) for v in revealed["votes"]]
        assert second == approvals
        earlier = client.get(f"/jobs/{job_id}/votes", params={"round": 0}).json()
        assert [SignedVote.from_json(v) for v in earlier["votes"]] == rejections

    mine_until_settleable(cast.provider, job_id)
    done = cast.provider.finalize(job_id, second)
    assert (done.outcome, done.accepts) == (Outcome.ACCEPTED, ROUND_1_SEATS)
