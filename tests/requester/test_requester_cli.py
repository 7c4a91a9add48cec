"""`crowdcompute job submit|status|download|cancel` with --json against the real anvil and store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chain import DEV_ADDRESSES, DEV_PRIVATE_KEYS, MarketClient, tokens
from chain.anvil import AnvilProcess, free_port
from crowdcompute.job_cli import job_app
from jobs.store import EmbeddedStore
from tests.cli_support.json_cli import connection_args, json_cli
from tests.requester.requester_jobs import provide_result, write_job

REQUESTER = 1
STRANGER = 3
Cli = Callable[..., dict[str, Any]]


@pytest.fixture
def cli(anvil: AnvilProcess, deployments_dir: Path, tmp_path: Path, market: MarketClient) -> Cli:
    options = connection_args(anvil.url, deployments_dir, tmp_path / "no-devnet")
    invoke = json_cli(job_app, options, {"CROWDCOMPUTE_GATEWAY_URL": None})

    def as_key(*args: str, key: int = REQUESTER, ok: bool = True) -> dict[str, Any]:
        return invoke(*args, ok=ok, env={"CROWDCOMPUTE_PRIVATE_KEY": DEV_PRIVATE_KEYS[key]})

    return as_key


def test_submit_status_and_cancel_follow_the_chain(
    cli: Cli, market: MarketClient, provider: MarketClient, store: EmbeddedStore, tmp_path: Path
) -> None:
    job_dir = write_job(tmp_path / "job")
    posted = cli("submit", str(job_dir), "--store-dir", str(store.root), "--budget", "7.5", "--no-reopen")
    job_id = posted["jobId"]
    assert posted["state"] == "Open" and posted["escrow"] == str(tokens("8.65"))  # + 2 % protocol fee
    assert posted["gas_used"] > 0 and posted["bundleCid"].startswith("bafk")
    assert posted["status"] == "success" and posted["tx_hash"].startswith("0x") and posted["block"] > 0
    assert posted["payment"] == {"method": "permit", "amount": str(tokens("8.65")), "approval": None}
    spec = market.job(job_id).job.spec
    assert spec.budget == tokens("7.5") and spec.reopen_on_failure is False

    status = cli("status", str(job_id))
    assert status["state"] == "Open" and status["requester"] == DEV_ADDRESSES[REQUESTER]
    assert status["provider"] is None and status["resultCid"] is None
    assert status["bundleCid"] == posted["bundleCid"]

    refused = cli("cancel", str(job_id), key=STRANGER, ok=False)
    assert refused["error"] == "NotCancellable"
    assert f"only job {job_id}'s requester" in refused["message"]
    assert "use that account's key" in refused["message"]

    before = market.token.balance_of(DEV_ADDRESSES[REQUESTER])
    cancelled = cli("cancel", str(job_id))
    assert cancelled["state"] == "Cancelled" and cancelled["refund"] == str(tokens("8.65"))
    assert market.token.balance_of(DEV_ADDRESSES[REQUESTER]) == before + tokens("8.65")
    assert cli("status", str(job_id))["state"] == "Cancelled"
    again = cli("cancel", str(job_id), ok=False)
    assert "only an Open job can be cancelled" in again["message"]


def test_status_and_download_of_a_submitted_job(
    cli: Cli, requester: MarketClient, provider: MarketClient, store: EmbeddedStore, tmp_path: Path
) -> None:
    job_id = cli("submit", str(write_job(tmp_path / "job")), "--store-dir", str(store.root))["jobId"]
    cid, files = provide_result(provider, job_id, store, tmp_path / "work")

    status = cli("status", str(job_id))
    assert status["state"] == "Submitted" and status["provider"] == provider.me
    assert status["resultCid"] == str(cid) and status["votes"] == {"accepts": 0, "rejects": 0, "seats": []}
    assert status["deadline"] > 0

    got = cli("download", str(job_id), str(tmp_path / "result"), "--store-dir", str(store.root))
    assert got["resultCid"] == str(cid) and sorted(got["files"]) == sorted(files)
    assert (tmp_path / "result" / "model.pt").read_bytes() == files["model.pt"]


def test_submit_with_pay_approve_reports_the_approve_beside_the_post(
    cli: Cli, requester: MarketClient, provider: MarketClient, store: EmbeddedStore, tmp_path: Path
) -> None:
    args = ("--store-dir", str(store.root), "--budget", "7.5")
    posted = cli("submit", str(write_job(tmp_path / "job")), *args, "--pay", "approve")
    approval = posted["payment"]["approval"]
    assert posted["payment"]["method"] == "approve" and posted["payment"]["amount"] == str(tokens("8.65"))
    assert set(approval) == {"tx_hash", "block", "gas_used", "status"} and approval["status"] == "success"
    assert approval["tx_hash"] != posted["tx_hash"] and approval["block"] <= posted["block"]
    assert requester.token.allowance(requester.me, requester.address) == 0

    short = cli("submit", str(write_job(tmp_path / "again")), *args, "--pay", "allowance", ok=False)
    assert short["error"] == "ContractRevert"
    assert "is allowed to spend 0 CROWD" in short["message"] and "approve it for at least" in short["message"]


def test_errors_are_one_line_naming_the_problem(cli: Cli, store: EmbeddedStore, tmp_path: Path) -> None:
    bad = cli("submit", str(write_job(tmp_path / "bad", cpus="0")), "--store-dir", str(store.root), ok=False)
    assert bad["error"] == "InvalidJob" and "resources.cpus" in bad["message"]

    url = f"http://127.0.0.1:{free_port()}"
    offline = cli("submit", str(write_job(tmp_path / "job")), "--gateway", url, ok=False)
    assert offline["error"] == "GatewayUnreachable" and url in offline["message"]

    both = cli("submit", str(tmp_path / "job"), "--gateway", url, "--store-dir", str(store.root), ok=False)
    assert "exclude each other" in both["message"]

    missing = cli("status", "999", ok=False)
    assert missing["message"] == "job 999 does not exist"


def test_text_mode_shows_progress_on_stderr_and_a_summary_on_stdout(
    anvil: AnvilProcess,
    deployments_dir: Path,
    store: EmbeddedStore,
    tmp_path: Path,
    market: MarketClient,
    provider: MarketClient,
) -> None:
    runner = CliRunner()
    chain = ["--rpc-url", anvil.url, "--deployments-dir", str(deployments_dir)]
    chain += ["--devnet-dir", str(tmp_path / "no-devnet")]
    # A gateway in the environment (here: none listening) does not override an explicit --store-dir.
    nowhere = f"http://127.0.0.1:{free_port()}"
    env = {"CROWDCOMPUTE_PRIVATE_KEY": DEV_PRIVATE_KEYS[REQUESTER], "CROWDCOMPUTE_GATEWAY_URL": nowhere}
    job_dir = write_job(tmp_path / "job")
    posted = runner.invoke(job_app, ["submit", str(job_dir), "--store-dir", str(store.root), *chain], env=env)
    assert posted.exit_code == 0, posted.output
    steps = [line.split()[0] for line in posted.stderr.strip().splitlines()]
    assert steps == ["packed", "stored", "signing", "mined:"]
    assert posted.stdout.startswith("job ") and "posted: bundle bafk" in posted.stdout
    job_id = posted.stdout.split()[1]
    shown = runner.invoke(job_app, ["status", job_id, *chain], env=env)
    assert shown.stdout.splitlines()[0] == f"job {job_id}: Open"
    assert "provider   -" in shown.stdout and "escrow 11.2 CROWD" in shown.stdout
