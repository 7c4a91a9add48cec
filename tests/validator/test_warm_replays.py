"""Warm replays against the real thing: anvil and the market, the runtime image in Docker, three in-process
validator daemons that step while the job is claimed, so each starts its replay container before the result
is submitted (`validator.warm`).

A warm replay must reach the verdict a cold one reaches (the honest provider accepted: every replayed digest
equals the one committed, as a cold replay's does; a provider skipping steps rejected with its evidence), and
no warm container may outlive its use: one not drawn, one whose job expired and one a stopped node left behind
are removed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chain import DEV_ADDRESSES, DevChain, JobStatus, MarketClient, Outcome, dev_account
from jobs.executors.docker import LABEL_NODE, DockerExecutor
from jobs.executors.docker_options import IDLE_CPU_SHARES
from jobs.store import EmbeddedStore
from tests.validator.cheaters import ScriptedProvider, honest_unique, skip_steps
from tests.validator.relays import MemoryRelay
from tests.validator.validator_cast import (
    CHEATER,
    VALIDATORS,
    Committee,
    CommitteeFactory,
    VerifiableJob,
    job_spec,
)
from validator.config import ValidatorConfig
from validator.daemon import ValidatorNode

pytestmark = pytest.mark.slow


@pytest.fixture
def cheater(
    requester: MarketClient, store: EmbeddedStore, digits_job: VerifiableJob, tmp_path: Path
) -> ScriptedProvider:
    return ScriptedProvider(
        requester.with_account(dev_account(CHEATER)), store, digits_job.folder, tmp_path / "cheater"
    )


def warmed_committee(make_committee: CommitteeFactory, job_id: int) -> Committee:
    """The daemons, stepped once the job is claimed: each starts a warm replay and waits for it."""
    committee = make_committee()
    for node in committee.nodes:
        node.step()
    for node in committee.nodes:
        assert node.warm.waiting() == [f"warm-{job_id}-0-{node.me.lower()}"], "a warm replay waits"
    return committee


def containers(docker_client: Any, node: ValidatorNode) -> list[str]:
    """The names of the node's containers on the engine (its executor's node label)."""
    executor = node.verifier.executor
    assert isinstance(executor, DockerExecutor)
    label = f"{LABEL_NODE}={executor._node_id}"
    return [c.name for c in docker_client.containers.list(all=True, filters={"label": label})]


def cpu_shares(docker_client: Any, node: ValidatorNode) -> list[int]:
    """The CPU weights of the node's containers, as the engine applies them."""
    executor = node.verifier.executor
    assert isinstance(executor, DockerExecutor)
    found = docker_client.containers.list(all=True, filters={"label": f"{LABEL_NODE}={executor._node_id}"})
    return [int(c.attrs["HostConfig"]["CpuShares"]) for c in found]


@pytest.mark.parametrize(
    ("cheat", "outcome"), [(honest_unique, Outcome.ACCEPTED), (skip_steps, Outcome.REJECTED)]
)
def test_warm_replays_reach_the_cold_verdicts(
    requester: MarketClient,
    digits_job: VerifiableJob,
    cheater: ScriptedProvider,
    make_committee: CommitteeFactory,
    docker_client: Any,
    cheat: Callable[..., None],
    outcome: Outcome,
) -> None:
    job_id = requester.post_job(job_spec(digits_job.cid)).job_id
    cheater.market.claim_job(job_id)
    committee = warmed_committee(make_committee, job_id)
    for node in committee.nodes:  # waiting, each takes only CPU the provider leaves idle
        assert cpu_shares(docker_client, node) == [IDLE_CPU_SHARES]
    out = cheater.produce(cheat, f"job-{job_id}-{cheat.__name__}")
    cheater.submit(job_id, out)
    settled = committee.run_until_final(job_id)

    assert Outcome(settled.finalized.args["outcome"]) == outcome
    for address, record in settled.records.items():
        node = committee.node(address)
        if not record.seats:
            assert node.warm.used == [], "not drawn: its warm replay never ran"
            continue
        assert node.warm.used == [f"warm-{job_id}-0-{address.lower()}"], "the seat replayed warm"
        assert record.approve is (outcome == Outcome.ACCEPTED), record.reason
        if outcome == Outcome.ACCEPTED:
            # Every replayed digest equals the committed one, as a cold replay's does (test_cheaters.py).
            evidence = settled.votes()[address].args["evidence"]
            assert evidence["committedDigest"] == evidence["recomputedDigest"]
        else:
            assert "gives another state" in record.reason
    for node in committee.nodes:
        assert node.warm.waiting() == [] and containers(docker_client, node) == [], "nothing left waiting"


def test_warm_replay_is_removed_when_not_drawn(
    requester: MarketClient,
    digits_job: VerifiableJob,
    cheater: ScriptedProvider,
    make_committee: CommitteeFactory,
    docker_client: Any,
) -> None:
    job_id = requester.post_job(job_spec(digits_job.cid, committee_size=1)).job_id
    cheater.market.claim_job(job_id)
    committee = warmed_committee(make_committee, job_id)
    cheater.submit(job_id, cheater.produce(honest_unique, f"job-{job_id}-honest"))
    committee.mine_seed_block(requester.job(job_id).job.state.submit_block)
    for node in committee.nodes:
        node.step()  # draws the one seat; the others let their warm replay go at once
    seated = [node for node in committee.nodes if node.state.records()]
    assert len(seated) == 1
    assert seated[0].wait_idle()
    for node in committee.nodes:
        if node not in seated:
            assert node.warm.waiting() == [] and containers(docker_client, node) == []


def test_warm_replay_is_removed_when_the_job_expires(
    requester: MarketClient,
    digits_job: VerifiableJob,
    cheater: ScriptedProvider,
    make_committee: CommitteeFactory,
    docker_client: Any,
    dev_chain: DevChain,
) -> None:
    job_id = requester.post_job(job_spec(digits_job.cid)).job_id
    claimed = cheater.market.claim_job(job_id)
    committee = warmed_committee(make_committee, job_id)
    dev_chain.increase_time(int(claimed.job.state.deadline) - dev_chain.timestamp() + 1)
    requester.expire_job(job_id)
    for node in committee.nodes:
        node.step()  # reads JobExpired
        assert node.warm.waiting() == [] and containers(docker_client, node) == []
    assert requester.status_of(job_id) != JobStatus.CLAIMED


def test_restarted_validator_removes_a_warm_replay_left_behind(
    requester: MarketClient,
    digits_job: VerifiableJob,
    cheater: ScriptedProvider,
    store: EmbeddedStore,
    docker_client: Any,
    node_label: Callable[[str], str],
    relay: MemoryRelay,
    tmp_path: Path,
) -> None:
    job_id = requester.post_job(job_spec(digits_job.cid)).job_id
    cheater.market.claim_job(job_id)
    index = VALIDATORS[0]
    market = requester.with_account(dev_account(index))
    label = node_label("validator")
    config = ValidatorConfig(data_dir=tmp_path / "validator", poll_interval_s=0.05, retry_s=0.0)

    first_engine = DockerExecutor(docker_client, node_id=label, poll_interval_s=0.1)
    first = ValidatorNode(market, store, first_engine, config, relay=relay)
    first.step()
    assert first.warm.waiting() == [f"warm-{job_id}-0-{DEV_ADDRESSES[index].lower()}"]
    first_engine.close()  # killed: its warm replay keeps waiting on the engine
    first.state.close()
    assert len(containers(docker_client, first)) == 1

    engine = DockerExecutor(docker_client, node_id=label, poll_interval_s=0.1)
    restarted = ValidatorNode(market, store, engine, config, relay=relay)
    try:
        restarted.step()  # its start removes what the earlier run left
        assert containers(docker_client, restarted) == []
    finally:
        restarted.close()
        engine.close()
