"""Signed votes through the real gateway: two validator daemons hand theirs to `POST /jobs/{id}/votes`, the
gateway reveals them once every seat has voted, and one `finalize` reveals them all on chain. One of the
two is restarted between signing and delivering: it sends its saved vote and re-runs nothing.

Real anvil, the market and a real gateway (uvicorn in a thread, indexing the chain); the replay is
replaced by a counting stand-in that accepts (the Docker suites re-execute for real), so no Docker is needed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chain import (
    Artifacts,
    Deployment,
    DevChain,
    Evidence,
    JobId,
    JobStatus,
    MarketClient,
    Outcome,
    ResultCommitment,
    Rpc,
    TxSender,
    dev_account,
    save_deployment,
    tokens,
)
from chain.anvil import AnvilProcess, free_port
from jobs.cid import Cid
from jobs.executors.noop import NoopExecutor
from jobs.store import EmbeddedStore
from tests.api.live_gateway import gateway_settings, serve
from tests.chain.market_cast import mine_until_settleable
from tests.validator.validator_cast import HONEST_PROVIDER, VALIDATOR_STAKE, VALIDATORS, job_spec
from validator.ballot import votes_of
from validator.config import ValidatorConfig
from validator.daemon import ValidatorNode
from validator.relay import GatewayRelay
from validator.state import Phase
from validator.verdict import Verdict

SEATS = 15  # two validators on the roster: both hold seats but with odds of 2 / 2^15
VERIFY_BLOCKS = 30
DIGEST = b"\x44" * 32


class StandInNode(ValidatorNode):
    """The real daemon with an accepting stand-in for the replay, counting the replays it would run."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.replays: list[JobId] = []

        def replay(submission: Any, *, tries: int = 0) -> Verdict:
            self.replays.append(submission.job_id)
            return Verdict(True, "the stand-in replay matched", Evidence(1, DIGEST, DIGEST), ("init",), 0.5)

        self.verifier.verify = replay  # type: ignore[method-assign]


@pytest.fixture
def gateway_url(
    tmp_path: Path, anvil: AnvilProcess, deployment: Deployment, registered: None
) -> Iterator[str]:
    from api.main import create_app

    folder = tmp_path / "gateway"
    save_deployment(deployment, folder / "deployments")
    settings = gateway_settings(
        folder, chain_id=anvil.chain_id, rpc_url=anvil.url, indexer_enabled=True, rpc_timeout_s=5.0
    )
    with serve(create_app(settings)) as url:
        yield url


@pytest.fixture
def make_node(
    tmp_path: Path,
    rpc: Rpc,
    deployment: Deployment,
    artifacts: Artifacts,
    sender: TxSender,
    store: EmbeddedStore,
) -> Iterator[Callable[..., StandInNode]]:
    nodes: list[StandInNode] = []

    def make(index: int, gateway: str) -> StandInNode:
        client = MarketClient(rpc, deployment, artifacts=artifacts, sender=sender, account=dev_account(index))
        config = ValidatorConfig(
            data_dir=tmp_path / f"validator-{index}", poll_interval_s=0.05, retry_s=0.1, gateway_url=gateway
        )
        node = StandInNode(client, store, NoopExecutor(), config)
        nodes.append(node)
        return node

    yield make
    for node in nodes:
        node.close()


def step_until(nodes: list[StandInNode], done: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, f"{what} did not happen in {timeout_s:g} s"
        for node in nodes:
            node.step()
            assert node.wait_idle(30)
        time.sleep(0.05)


def test_two_validators_votes_go_through_the_gateway_and_one_finalize_reveals_them(
    requester: MarketClient,
    dev_chain: DevChain,
    gateway_url: str,
    make_node: Callable[..., StandInNode],
) -> None:
    first, second, leaving = VALIDATORS
    requester.with_account(dev_account(leaving)).request_unbond(VALIDATOR_STAKE)  # off the roster
    bundle = Cid.from_chain(b"\x51" * 32, 0x55)
    spec = job_spec(bundle, committee_size=SEATS, collateral=tokens(20), verify_blocks=VERIFY_BLOCKS)
    job_id = requester.post_job(spec).job_id
    provider = requester.with_account(dev_account(HONEST_PROVIDER))
    provider.claim_job(job_id)
    submitted = provider.submit_result(job_id, ResultCommitment(b"\x33" * 32, DIGEST, 3))
    dev_chain.mine(1)  # the seed block
    committee = requester.committee_of(job_id)
    holders = {dev_account(i).address for i in (first, second)}
    assert set(committee) == holders, f"both validators hold seats (and only they): {committee}"

    # The first validator signs while the gateway is away (a port where nothing listens), then stops.
    away = make_node(first, f"http://127.0.0.1:{free_port()}")
    step_until([away], lambda: bool(away.state.records([Phase.VOTING])), "the first vote")
    (saved,) = away.state.records()
    assert len(saved.votes or []) == committee.count(away.me), "one signed vote per seat it holds"
    away.close()

    # The second delivers its votes to the gateway, which keeps them private: a seat is still silent.
    other = make_node(second, gateway_url)
    step_until([other], lambda: bool(other.state.records([Phase.VOTED])), "the second delivery")
    assert GatewayRelay(gateway_url).revealed(job_id) is None, "not revealed while a seat may still vote"

    # Restarted with the gateway back, the first validator sends its saved votes without re-running.
    back = make_node(first, gateway_url)
    relay = GatewayRelay(gateway_url)
    step_until([back, other], lambda: relay.revealed(job_id) is not None, "every seat delivered")
    mine_until_settleable(requester, job_id)  # nobody appeals
    step_until([back, other], lambda: requester.status_of(job_id) != JobStatus.SUBMITTED, "finalize")

    assert back.replays == [], "the restarted validator re-ran nothing"
    assert other.replays == [job_id]
    (finalized,) = (e for e in requester.job(job_id).events if e.name == "JobFinalized")
    assert (Outcome(finalized.args["outcome"]), finalized.args["accepts"]) == (Outcome.ACCEPTED, SEATS)
    assert finalized.block_number > submitted.tx.block_number + 1 + 2 * VERIFY_BLOCKS, (
        "after the appeal window"
    )
    revealed = [e for e in requester.job(job_id).events if e.name == "VoteCast"]
    assert {e.tx_hash for e in revealed} == {finalized.tx_hash}, "one transaction revealed every vote"
    assert sorted(e.args["slot"] for e in revealed) == list(range(SEATS))
    assert {e.args["validator"] for e in revealed} == holders
    relayed = GatewayRelay(gateway_url).revealed(job_id)
    assert relayed is not None and len(relayed) == SEATS
    assert [v for v in relayed if v.validator == back.me] == votes_of(saved), "the saved signatures"
    for node in (back, other):
        (record,) = node.state.records()
        assert (record.phase, record.outcome) == (Phase.FINALIZED, "accepted"), record
