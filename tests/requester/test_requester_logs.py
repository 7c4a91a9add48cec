"""`crowdcompute job logs` against a live gateway that indexes the real anvil: the job's provider pushes
signed log lines; the requester reads them, and follows them until the job ends; and `--follow` through a
real gateway process that is killed and started again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from api.db import Database
from api.settings import Settings
from chain import DEV_PRIVATE_KEYS, JobId, MarketClient
from chain.anvil import DevChain, free_port
from crowdcompute.job_cli import job_app
from crowdcompute.requester import GatewayClient, LogGap, LogLine, submit_job
from gateway_protocol import log_batch_headers
from tests.api.gateway_keys import PROVIDER_ADDRESS as TEST_PROVIDER
from tests.api.gateway_keys import PROVIDER_KEY as TEST_PROVIDER_KEY
from tests.api.market_events import EventLog
from tests.api.restartable_gateway import (
    RestartableGateway,
    gateway_settings,
    index_claimed_job,
    index_events,
)
from tests.requester.requester_jobs import wait_for, write_job

PROVIDER_KEY = DEV_PRIVATE_KEYS[2]
CROWDCOMPUTE = Path(sys.executable).with_name("crowdcompute")


def _state(gateway_url: str, job_id: int) -> str | None:
    response = httpx.get(f"{gateway_url}/jobs/{job_id}", trust_env=False)
    return str(response.json()["state"]) if response.status_code == 200 else None


def _push(gateway_url: str, chain_id: int, job_id: int, first: int, texts: list[str]) -> None:
    lines = [{"seq": first + i, "text": text, "ts": 1.0} for i, text in enumerate(texts)]
    body = json.dumps({"lines": lines}).encode()
    headers = log_batch_headers(PROVIDER_KEY, chain_id, job_id, first, body)
    response = httpx.post(
        f"{gateway_url}/jobs/{job_id}/logs",
        content=body,
        headers={**headers, "Content-Type": "application/json"},
        trust_env=False,
    )
    assert response.status_code == 200, response.text


def test_logs_are_read_and_followed_until_the_job_ends(
    requester: MarketClient,
    provider: MarketClient,
    gateway_url: str,
    dev_chain: DevChain,
    tmp_path: Path,
) -> None:
    chain_id = requester.rpc.chain_id
    job = submit_job(
        requester,
        write_job(tmp_path / "job"),
        gateway_url=gateway_url,
        run_timeout=5,
        reopen_on_failure=False,
    )
    provider.claim_job(job.job_id)
    wait_for(lambda: _state(gateway_url, job.job_id) == "Claimed", "the gateway to index the claim")
    _push(gateway_url, chain_id, job.job_id, 0, ["epoch 1 loss 0.9", "epoch 2 loss 0.5"])

    runner = CliRunner()
    env = {"CROWDCOMPUTE_GATEWAY_URL": gateway_url}
    read = runner.invoke(job_app, ["logs", str(job.job_id), "--json"], env=env)
    assert read.exit_code == 0, read.output
    page = json.loads(read.stdout)
    assert [line["text"] for line in page["lines"]] == ["epoch 1 loss 0.9", "epoch 2 loss 0.5"]
    assert (page["nextSeq"], page["jobState"]) == (2, "Claimed")
    text = runner.invoke(job_app, ["logs", str(job.job_id), "--after", "0"], env=env)
    assert text.stdout.strip() == "epoch 2 loss 0.5"

    followed: list[LogLine | LogGap | str] = []

    def follow() -> None:
        with GatewayClient(gateway_url) as client:
            followed.extend(client.follow_logs(job.job_id))

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    wait_for(lambda: len(followed) == 2, "the stored lines to stream")
    _push(gateway_url, chain_id, job.job_id, 2, ["epoch 3 loss 0.2"])
    wait_for(lambda: len(followed) == 3, "a new line to stream")
    dev_chain.increase_time(10)
    provider.expire_job(job.job_id)
    follower.join(15)
    assert not follower.is_alive(), "following must stop when the job ends"
    assert [item.text if isinstance(item, LogLine) else item for item in followed] == [
        "epoch 1 loss 0.9",
        "epoch 2 loss 0.5",
        "epoch 3 loss 0.2",
        "Expired",
    ]

    ended = runner.invoke(job_app, ["logs", str(job.job_id), "--follow", "--json"], env=env)
    assert ended.exit_code == 0, ended.output
    records = [json.loads(line) for line in ended.stdout.strip().splitlines()]
    assert [r.get("seq") for r in records[:-1]] == [0, 1, 2]
    assert records[-1] == {"jobId": job.job_id, "jobState": "Expired"}


def test_logs_without_a_gateway_name_the_fix() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(job_app, ["logs", "1", "--gateway", url, "--json"])
    assert result.exit_code == 1
    error = json.loads(result.stdout)
    assert error["error"] == "GatewayUnreachable" and "crowdcompute gateway serve" in error["message"]


# -- across a gateway restart ---------------------------------------------------------------------------


class GatewayProcess:
    """`crowdcompute gateway serve` as its own process on a fixed port, killed and started again at will."""

    def __init__(self, settings: Settings, port: int, cwd: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.cwd = cwd
        self.env = {
            **os.environ,
            "CROWDCOMPUTE_GATEWAY_ENVIRONMENT": "test",
            "CROWDCOMPUTE_GATEWAY_DATA_DIR": str(settings.data_dir),
            "CROWDCOMPUTE_GATEWAY_DEPLOYMENTS_DIR": str(settings.deployments_dir),
            "CROWDCOMPUTE_GATEWAY_FRONTEND_DIST": str(settings.frontend_dist),
            "CROWDCOMPUTE_GATEWAY_RPC_URL": settings.rpc_url,
            "CROWDCOMPUTE_GATEWAY_API_KEYS": "[]",
            "CROWDCOMPUTE_GATEWAY_STORE_FSYNC": "false",
            "CROWDCOMPUTE_GATEWAY_RATE_LIMIT_PER_MINUTE": "60000",
            "CROWDCOMPUTE_GATEWAY_RATE_LIMIT_BURST": "10000",
            "CROWDCOMPUTE_GATEWAY_SSE_POLL_S": "0.05",
            "CROWDCOMPUTE_GATEWAY_SSE_HEARTBEAT_S": "0.5",
            "CROWDCOMPUTE_GATEWAY_LOG_LEVEL": "WARNING",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [str(CROWDCOMPUTE), "gateway", "serve", "--port", str(self.port), "--no-indexer"]
        self.process = subprocess.Popen(
            command, cwd=self.cwd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for(self._answers, "the gateway process to answer", timeout=30)

    def _answers(self) -> bool:
        assert self.process is not None and self.process.poll() is None, "the gateway process exited"
        try:
            return httpx.get(f"{self.url}/jobs/1/logs", trust_env=False, timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # no goodbye to the open streams, as in a crash
            self.process.wait(10)


@pytest.mark.slow
def test_follow_prints_every_line_once_across_a_gateway_restart(tmp_path: Path) -> None:
    """`crowdcompute job logs --follow` against a real `crowdcompute gateway serve` that is killed and
    started again on the same port: every line printed once, in order, and the follower says it reconnects."""
    settings = gateway_settings(tmp_path / "gateway")
    claimed = EventLog()
    claimed.post(1)
    claimed.claim(1, provider=TEST_PROVIDER)
    db = Database(settings.db_path)
    index_events(db, claimed)
    gateway = GatewayProcess(settings, free_port(), tmp_path)
    follower: subprocess.Popen[str] | None = None
    printed: list[str] = []
    try:
        gateway.start()
        _push_as(gateway.url, 0, [f"line {i}" for i in range(50)])
        follower = subprocess.Popen(
            [str(CROWDCOMPUTE), "job", "logs", "1", "--follow", "--gateway", gateway.url],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        stdout = follower.stdout
        assert stdout is not None
        reader = threading.Thread(target=lambda: printed.extend(line.rstrip("\n") for line in stdout))
        reader.start()
        wait_for(lambda: len(printed) >= 50, "the first 50 lines to print")

        gateway.kill()
        time.sleep(2.0)
        assert follower.poll() is None, "the follower must live through the gateway's absence"
        gateway.start()
        _push_as(gateway.url, 50, [f"line {i}" for i in range(50, 100)])
        wait_for(lambda: len(printed) >= 100, "the lines pushed after the restart to print", timeout=30)
        ended = EventLog(first_block=claimed.block + 1)
        ended.submit(1, provider=TEST_PROVIDER)
        ended.accept(1, provider=TEST_PROVIDER)
        index_events(db, ended)
        follower.wait(30)
        reader.join(10)
        assert follower.stderr is not None
        errors = follower.stderr.read()
    finally:
        if follower is not None and follower.poll() is None:
            follower.kill()
        gateway.kill()
        db.close()
    assert follower.returncode == 0, errors
    assert printed == [f"line {i}" for i in range(100)]
    assert "reconnecting in" in errors and "reconnected; going on after line 49" in errors, errors
    assert "job 1 ended: Accepted" in errors


def _push_as(url: str, first: int, texts: list[str]) -> None:
    """Push lines as the test provider (its key, the gateway's default chain id)."""
    lines = [{"seq": first + i, "text": text, "ts": 1.0} for i, text in enumerate(texts)]
    body = json.dumps({"lines": lines}).encode()
    headers = log_batch_headers(TEST_PROVIDER_KEY, 31337, JobId(1), first, body)
    response = httpx.post(
        f"{url}/jobs/1/logs",
        content=body,
        headers={**headers, "Content-Type": "application/json"},
        trust_env=False,
    )
    assert response.status_code == 200, response.text


def test_logs_prints_every_page_of_a_long_log_with_its_gaps(tmp_path: Path) -> None:
    """More lines than one page holds, and seqs the provider never sent: all printed, the gap marked."""
    with RestartableGateway(gateway_settings(tmp_path / "gateway")) as gateway:
        assert gateway.app is not None
        index_claimed_job(gateway.app, 1)
        for first in range(0, 1500, 500):
            _push_as(gateway.url, first, [f"line {i}" for i in range(first, first + 500)])
        _push_as(gateway.url, 1600, [f"line {i}" for i in range(1600, 2600)])
        text = CliRunner().invoke(job_app, ["logs", "1", "--gateway", gateway.url])
        as_json = CliRunner().invoke(job_app, ["logs", "1", "--gateway", gateway.url, "--json"])
    assert text.exit_code == 0, text.output
    expected = [*(f"line {i}" for i in range(1500)), "[lines 1500\u20131599 not received]"]
    assert text.stdout.splitlines() == [*expected, *(f"line {i}" for i in range(1600, 2600))]
    page = json.loads(as_json.stdout)
    assert len(page["lines"]) == 2500 and page["gaps"] == [{"first": 1500, "last": 1599}]
    assert page["nextSeq"] == 2600
