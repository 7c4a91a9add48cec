"""`crowdcompute job status|download|cancel` tell the truth after a job ends (issue 13, problem 5): votes
counted from the chain's events once the word is gone, the checkpoint root shown and checked on download
(a tampered checkpoint refused by name), and refusals in the states the user sees."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from chain import (
    DEV_PRIVATE_KEYS,
    REQUESTER_ACCOUNT,
    VALIDATOR_ACCOUNTS,
    JobStatus,
    MarketClient,
    Outcome,
    dev_account,
)
from chain.anvil import AnvilProcess
from crowdcompute.job_cli import job_app
from crowdcompute.requester import JobEnded, wait_for_status
from jobs.commitments import merkle_root
from jobs.store import EmbeddedStore
from tests.cli_support.json_cli import JsonCli, connection_args, json_cli
from tests.requester.settled_jobs import SPEC, register_validators, submitted_job, vote_and_finalize


@pytest.fixture
def options(anvil: AnvilProcess, deployments_dir: Path, tmp_path: Path) -> list[str]:
    return connection_args(anvil.url, deployments_dir, tmp_path / "no-devnet")


@pytest.fixture
def env() -> dict[str, str | None]:
    return {"CROWDCOMPUTE_PRIVATE_KEY": DEV_PRIVATE_KEYS[REQUESTER_ACCOUNT], "CROWDCOMPUTE_GATEWAY_URL": None}


@pytest.fixture
def cli(options: list[str], env: dict[str, str | None], market: MarketClient) -> JsonCli:
    return json_cli(job_app, options, env)


def text(options: list[str], env: dict[str, str | None], *args: str) -> tuple[int, str]:
    """The command in text mode: exit status and everything it printed."""
    result = CliRunner().invoke(job_app, [*args, *options], env=env)
    return result.exit_code, result.output


def test_status_after_settlement_counts_the_three_accepts_and_shows_the_root(
    cli: JsonCli,
    options: list[str],
    env: dict[str, str | None],
    market: MarketClient,
    requester: MarketClient,
    provider: MarketClient,
    store: EmbeddedStore,
    tmp_path: Path,
) -> None:
    register_validators(market)
    job_id, digests = submitted_job(requester, provider, store, tmp_path / "work")
    assert vote_and_finalize(market, job_id, [True, True, True]) == Outcome.ACCEPTED
    assert market.status_of(job_id) == JobStatus.CLOSED  # the word is gone; the votes are in the events

    status = cli("status", str(job_id))
    assert status["state"] == "Accepted"
    assert (status["votes"]["accepts"], status["votes"]["rejects"]) == (3, 0)
    committee = [seat["validator"] for seat in status["votes"]["seats"]]
    assert [seat["slot"] for seat in status["votes"]["seats"]] == [0, 1, 2]
    assert {seat["vote"] for seat in status["votes"]["seats"]} == {"accept"}
    assert set(committee) <= {dev_account(i).address for i in VALIDATOR_ACCOUNTS}  # one may hold two seats
    assert status["checkpointCount"] == 7
    root = "0x" + merkle_root(digests).hex()
    assert status["checkpointRoot"] == root

    code, shown = text(options, env, "status", str(job_id))
    assert code == 0, shown
    assert "3 accept, 0 reject" in shown and root in shown
    assert all(address in shown for address in committee)


def test_download_checks_every_checkpoint_against_the_committed_root(
    options: list[str],
    env: dict[str, str | None],
    requester: MarketClient,
    provider: MarketClient,
    store: EmbeddedStore,
    tmp_path: Path,
    market: MarketClient,
) -> None:
    job_id, digests = submitted_job(requester, provider, store, tmp_path / "work")
    dest = tmp_path / "result"
    code, shown = text(options, env, "download", str(job_id), str(dest), "--store-dir", str(store.root))
    assert code == 0, shown
    assert f"7 checkpoints match the committed root 0x{merkle_root(digests).hex()}" in shown
    assert "each re-hashed from its file" in shown
    assert (dest / "checkpoints" / "ckpt_6.pt").is_file()


@pytest.mark.parametrize("tamper", ["file", "listing"])
def test_a_tampered_checkpoint_is_refused_naming_it_and_nothing_is_left(
    cli: JsonCli,
    tamper: str,
    requester: MarketClient,
    provider: MarketClient,
    store: EmbeddedStore,
    tmp_path: Path,
) -> None:
    job_id, _ = submitted_job(requester, provider, store, tmp_path / "work", tamper=tamper, index=3)
    dest = tmp_path / "result"
    refused = cli("download", str(job_id), str(dest), "--store-dir", str(store.root), ok=False)
    assert refused["error"] == "CheckpointMismatch"
    assert refused["message"].startswith("checkpoint 3 (checkpoints/ckpt_3.pt)")
    assert not dest.exists()


def test_cancel_and_download_speak_in_the_states_the_user_sees(
    cli: JsonCli,
    market: MarketClient,
    requester: MarketClient,
    provider: MarketClient,
    store: EmbeddedStore,
    tmp_path: Path,
) -> None:
    register_validators(market)
    accepted, _ = submitted_job(requester, provider, store, tmp_path / "work")
    vote_and_finalize(market, accepted, [True, True, True])
    refused = cli("cancel", str(accepted), ok=False)
    assert refused["message"] == f"job {accepted} is Accepted: only an Open job can be cancelled"

    cancelled = requester.post_job(SPEC).job_id
    assert cli("cancel", str(cancelled))["state"] == "Cancelled"
    refused = cli("download", str(cancelled), str(tmp_path / "r"), "--store-dir", str(store.root), ok=False)
    assert refused["message"] == f"job {cancelled} was Cancelled: it has no result"
    assert not (tmp_path / "r").exists()

    claimed = requester.post_job(SPEC).job_id
    provider.claim_job(claimed)
    refused = cli("cancel", str(claimed), ok=False)
    assert refused["message"].startswith(f"job {claimed} is Claimed: only an Open job can be cancelled")


def test_waiting_for_a_state_a_closed_job_cannot_reach_ends_at_once(requester: MarketClient) -> None:
    job_id = requester.post_job(SPEC).job_id
    requester.cancel_job(job_id)
    with pytest.raises(JobEnded, match=f"job {job_id} was Cancelled while waiting for Submitted") as caught:
        wait_for_status(requester, job_id, {JobStatus.SUBMITTED}, timeout_s=60, poll_s=0.05)
    assert caught.value.state == "Cancelled"
