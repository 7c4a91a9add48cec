"""`crowdcompute job appeal` and the round in `job status`, against the real anvil and a live gateway that
relays the round's signed votes."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chain import (
    DEV_ADDRESSES,
    DEV_PRIVATE_KEYS,
    DevChain,
    Evidence,
    JobId,
    JobStatus,
    MarketClient,
    Outcome,
    VerificationMode,
    appeal_window,
    dev_account,
    round_seats,
    settle_block,
    tokens,
)
from chain.anvil import AnvilProcess
from crowdcompute.job_cli import job_app
from crowdcompute.requester import accept_unanimous
from crowdcompute.requester.accept_wait import AcceptWait, wait_and_accept
from gateway_protocol import VoteRelayError, fetch_votes, post_vote
from jobs.store import EmbeddedStore
from tests.cli_support.json_cli import connection_args, json_cli
from tests.requester.requester_jobs import provide_result, wait_for
from tests.validator.validator_cast import SPEC, VALIDATOR_STAKE, VALIDATORS

pytestmark = pytest.mark.slow

REQUESTER = 1
VERIFY_BLOCKS = 6
Cli = Callable[..., dict[str, Any]]


@pytest.fixture
def cli(anvil: AnvilProcess, deployments_dir: Path, tmp_path: Path, market: MarketClient) -> Cli:
    options = connection_args(anvil.url, deployments_dir, tmp_path / "no-devnet")
    invoke = json_cli(job_app, options, {"CROWDCOMPUTE_GATEWAY_URL": None})

    def as_requester(*args: str, ok: bool = True) -> dict[str, Any]:
        return invoke(*args, ok=ok, env={"CROWDCOMPUTE_PRIVATE_KEY": DEV_PRIVATE_KEYS[REQUESTER]})

    return as_requester


@pytest.fixture
def validators(market: MarketClient, dev_chain: DevChain) -> list[MarketClient]:
    clients = []
    for index in VALIDATORS:
        client = market.with_account(dev_account(index))
        client.stake(VALIDATOR_STAKE)
        client.register_validator()
        clients.append(client)
    return clients


def verified_job(
    requester: MarketClient,
    provider: MarketClient,
    validators: list[MarketClient],
    store: EmbeddedStore,
    gateway_url: str,
    tmp_path: Path,
    approvals: Sequence[bool] | None = (True, True, True),
) -> int:
    """A job whose result every round-0 seat accepted (or voted `approvals`, seat by seat; None: nobody voted
    yet), the votes relayed by the gateway."""
    bundle = store.add_bytes(b"a bundle nobody runs here")
    digest, codec = bundle.to_chain()
    spec = dataclasses.replace(
        SPEC,
        bundle_digest=digest,
        bundle_codec=codec,
        mode=VerificationMode.SEGMENTS,
        committee_size=3,
        verify_blocks=VERIFY_BLOCKS,
    )
    job_id = requester.post_job(spec).job_id
    provide_result(provider, job_id, store, tmp_path / "work")
    DevChain(requester.rpc).mine(1)  # the seed block
    if approvals is not None:
        cast_votes(requester, validators, gateway_url, job_id, approvals)
    return job_id


def cast_votes(
    requester: MarketClient,
    validators: list[MarketClient],
    gateway_url: str,
    job_id: int,
    approvals: Sequence[bool],
) -> None:
    """Each round-0 seat signs its vote (`approvals[seat]`) and the gateway takes it."""
    by_address = {client.me: client for client in validators}
    for seat, holder in enumerate(requester.committee_of(job_id)):
        vote = by_address[holder].sign_vote(JobId(job_id), seat, approvals[seat], Evidence())

        def delivered(vote: Any = vote) -> bool:
            try:
                post_vote(gateway_url, vote, timeout=5)
            except VoteRelayError as exc:
                if not exc.retryable:
                    raise
                return False
            return True

        wait_for(delivered, f"the gateway to take seat {seat}'s vote")


def test_the_requester_appeals_a_round_with_the_votes_the_gateway_reveals(
    cli: Cli,
    requester: MarketClient,
    provider: MarketClient,
    validators: list[MarketClient],
    store: EmbeddedStore,
    gateway_url: str,
    dev_chain: DevChain,
    tmp_path: Path,
) -> None:
    job_id = verified_job(requester, provider, validators, store, gateway_url, tmp_path)
    submit_block = requester.job(job_id).job.state.submit_block
    opens, closes = appeal_window(submit_block, VERIFY_BLOCKS)

    status = cli("status", str(job_id), "--gateway", gateway_url)
    assert status["round"] == 0 and status["roundSeats"] == 3
    assert status["appealWindow"] == {"firstBlock": opens, "lastBlock": closes}

    early = cli("appeal", str(job_id), "--yes", "--gateway", gateway_url, ok=False)
    assert early["error"] == "NotAppealable" and f"blocks {opens}..{closes}" in early["message"]

    dev_chain.mine_until(opens - 1)  # the vote window is over: the appeal lands in the first block it may
    no_gateway = cli("appeal", str(job_id), "--yes", "--gateway", "http://127.0.0.1:9", ok=False)
    assert no_gateway["error"] == "GatewayUnreachable" and "round 0's signed votes" in no_gateway["message"]
    refused = cli("appeal", str(job_id), "--gateway", gateway_url, ok=False)
    assert "--json needs --yes" in refused["message"]
    assert requester.job(job_id).job.state.round == 0, "nothing was appealed without a yes"

    bond = requester.appeal_bond(JobId(job_id))
    assert bond == max(requester.config().validator_slash, round_seats(3, 1) * SPEC.validator_fee)
    appealed = cli("appeal", str(job_id), "--yes", "--gateway", gateway_url)
    assert (appealed["round"], appealed["decision"], appealed["accepts"], appealed["rejects"]) == (
        0,
        "Accepted",
        3,
        0,
    )
    assert appealed["appealedTo"] == 1 and appealed["bond"] == str(bond) and appealed["nextSeats"] == 31
    job = requester.job(job_id)
    assert job.job.state.round == 1 and job.job.state.submit_block == appealed["block"]
    (event,) = [e for e in job.events if e.name == "JobAppealed"]
    assert event.args["appellant"] == DEV_ADDRESSES[REQUESTER]
    revealed = [e for e in job.events if e.name == "VoteCast"]
    assert len(revealed) == 3 and all(e.args["approve"] for e in revealed), "the appeal revealed round 0"

    status = cli("status", str(job_id), "--gateway", gateway_url)
    assert status["round"] == 1 and status["roundSeats"] == 31
    assert status["appealWindow"]["firstBlock"] == appealed["block"] + 1 + VERIFY_BLOCKS + 1

    dev_chain.mine_until(settle_block(appealed["block"], VERIFY_BLOCKS, 1))
    requester.finalize(JobId(job_id), [])  # round 1's seats all silent
    settled = cli("status", str(job_id), "--gateway", gateway_url)
    assert settled["round"] == 1 and settled["appealWindow"] is None, "a settled job has nothing to appeal"


def test_appeal_shows_the_decision_and_the_bond_and_asks_first(
    anvil: AnvilProcess,
    deployments_dir: Path,
    requester: MarketClient,
    provider: MarketClient,
    validators: list[MarketClient],
    store: EmbeddedStore,
    gateway_url: str,
    dev_chain: DevChain,
    tmp_path: Path,
) -> None:
    job_id = verified_job(requester, provider, validators, store, gateway_url, tmp_path)
    opens, _ = appeal_window(requester.job(job_id).job.state.submit_block, VERIFY_BLOCKS)
    dev_chain.mine_until(opens - 1)
    args = ["appeal", str(job_id), "--gateway", gateway_url]
    args += connection_args(anvil.url, deployments_dir, tmp_path / "no-devnet")
    env = {"CROWDCOMPUTE_PRIVATE_KEY": DEV_PRIVATE_KEYS[REQUESTER], "CROWDCOMPUTE_GATEWAY_URL": None}
    declined = CliRunner().invoke(job_app, args, input="n\n", env=env)
    assert declined.exit_code == 1
    assert f"job {job_id}, round 0 (3 seats): Accepted (3 accept, 0 reject, 0 silent)" in declined.output
    bond = requester.appeal_bond(JobId(job_id))
    assert f"appealing bonds {tokens(0) + bond // 10**18} CROWD" in declined.output
    assert requester.job(job_id).job.state.round == 0
    accepted = CliRunner().invoke(job_app, args, input="y\n", env=env)
    assert accepted.exit_code == 0, accepted.output
    assert "round 1 (31 seats) decides next" in accepted.output
    assert requester.job(job_id).job.state.round == 1


def test_the_requester_settles_a_unanimous_acceptance_without_waiting_for_the_appeal_window(
    cli: Cli,
    requester: MarketClient,
    provider: MarketClient,
    validators: list[MarketClient],
    store: EmbeddedStore,
    gateway_url: str,
    tmp_path: Path,
) -> None:
    job_id = JobId(verified_job(requester, provider, validators, store, gateway_url, tmp_path))
    submit_block = requester.job(job_id).job.state.submit_block
    assert accept_unanimous(provider, job_id, gateway_url) is None, "only the requester may waive its appeal"
    wait_for(lambda: fetch_votes(gateway_url, job_id, round_=0) is not None, "the votes to be revealed")
    assert accept_unanimous(provider, job_id, gateway_url) is None, "not even once they are revealed"

    accepted = cli("accept", str(job_id), "--gateway", gateway_url)
    assert (accepted["state"], accepted["accepts"]) == ("Accepted", 3)
    assert requester.job(job_id).outcome == Outcome.ACCEPTED
    assert requester.rpc.block_number() <= settle_block(submit_block, VERIFY_BLOCKS, 0), "before the window"
    assert requester.status_of(job_id) == JobStatus.CLOSED
    assert requester.account_of(provider.me).balance >= SPEC.budget, "the provider is paid at once"


def test_accept_wait_follows_the_job_until_the_votes_are_revealed_then_settles_it(
    cli: Cli,
    requester: MarketClient,
    provider: MarketClient,
    validators: list[MarketClient],
    store: EmbeddedStore,
    gateway_url: str,
    tmp_path: Path,
) -> None:
    job_id = JobId(
        verified_job(requester, provider, validators, store, gateway_url, tmp_path, approvals=None)
    )
    submit_block = requester.job(job_id).job.state.submit_block
    states: list[str] = []
    ended: list[AcceptWait | BaseException] = []

    def wait() -> None:
        try:
            ended.append(
                wait_and_accept(requester, job_id, gateway_url, timeout_s=60, on_state=states.append)
            )
        except BaseException as exc:  # handed to the test's thread
            ended.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    wait_for(lambda: bool(states), "the wait to read the job")
    assert not ended, "nothing to settle before the committee voted"
    cast_votes(requester, validators, gateway_url, job_id, (True, True, True))
    waiter.join(timeout=60)
    assert len(ended) == 1 and isinstance(ended[0], AcceptWait), ended
    assert ended[0].state == "Accepted" and ended[0].finalized is not None
    assert states[0] == "Submitted"
    assert requester.job(job_id).outcome == Outcome.ACCEPTED
    assert requester.rpc.block_number() <= settle_block(submit_block, VERIFY_BLOCKS, 0), "before the window"

    again = cli("accept", str(job_id), "--wait", "--gateway", gateway_url)
    assert (again["state"], again["acceptedByThisCall"]) == ("Accepted", False), "a closed job is reported"


def test_accept_wait_leaves_a_split_committee_to_the_appeal_window(
    cli: Cli,
    requester: MarketClient,
    provider: MarketClient,
    validators: list[MarketClient],
    store: EmbeddedStore,
    gateway_url: str,
    tmp_path: Path,
) -> None:
    approvals = (True, False, True)
    job_id = verified_job(requester, provider, validators, store, gateway_url, tmp_path, approvals=approvals)
    refused = cli("accept", str(job_id), "--wait", "--timeout", "60", "--gateway", gateway_url, ok=False)
    assert refused["error"] == "NotUnanimous"
    assert "1 of 3 seats of round 0 rejected the result" in refused["message"]
    assert "appeal window" in refused["message"]
    assert requester.status_of(JobId(job_id)) == JobStatus.SUBMITTED, "the window decides, not the requester"
