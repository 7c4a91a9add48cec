"""`crowdcompute job logs` against a live gateway that indexes the real anvil: the job's provider pushes
signed log lines; the requester reads them, and follows them until the job ends."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
from typer.testing import CliRunner

from chain import DEV_PRIVATE_KEYS, MarketClient
from chain.anvil import DevChain, free_port
from crowdcompute.job_cli import job_app
from crowdcompute.requester import GatewayClient, LogLine, submit_job
from gateway_protocol import log_batch_headers
from tests.requester.requester_jobs import wait_for, write_job

PROVIDER_KEY = DEV_PRIVATE_KEYS[2]


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

    followed: list[LogLine | str] = []

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
