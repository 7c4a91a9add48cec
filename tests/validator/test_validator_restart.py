"""A validator that dies and is started again on the same data dir delivers the votes it signed, never
re-runs the work for them, and never goes silent.

Real anvil, the market contracts, the shared store and replays in Docker; the job is the digits example
cut to 10 segments, submitted by an honest scripted provider, with a committee of one so the seat's vote
alone decides it. The death itself is injected (tests/validator/deaths.py): a real kill cannot be timed
to land between two steps of the daemon. The restarted daemon is a plain `ValidatorNode`. Its event
reader has already checkpointed past the submission, so what it resumes comes from state.db alone. A node
killed mid-replay re-attaches to the container it left running, or removes it when its job was settled
meanwhile; either way it replays nothing twice and leaves no container behind.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from chain import DevChain, Evidence, JobId, MarketClient, Outcome, SignedVote
from jobs.executors import ExecutionId, ExecutionRequest
from jobs.executors.base import LogCallback
from jobs.executors.docker import LABEL_NODE, DockerExecutor
from tests.chain.market_cast import mine_until_settleable
from tests.validator.cheaters import ScriptedProvider
from tests.validator.deaths import DeliverThenDie, DiesBeforeDelivering, DiesWhileReplaying, MortalNode
from tests.validator.relays import MemoryRelay
from tests.validator.seats import submit_to_one_seat
from tests.validator.validator_cast import Committee, Settled, VerifiableJob
from validator.ballot import votes_of
from validator.daemon import ValidatorNode
from validator.state import Phase, Verification

pytestmark = pytest.mark.slow


class CountingClient(MarketClient):
    """The real client, counting the votes it is asked to sign."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.votes_signed = 0

    def sign_vote(
        self, job_id: JobId, seat: int, approve: bool, evidence: Evidence | None = None
    ) -> SignedVote:
        self.votes_signed += 1
        return super().sign_vote(job_id, seat, approve, evidence)


def submit_honest_work(
    requester: MarketClient, digits_job: VerifiableJob, provider: ScriptedProvider
) -> tuple[int, str]:
    return submit_to_one_seat(requester, digits_job.cid, provider)


def until_dead(node: MortalNode, timeout_s: float = 120.0) -> Verification:
    """Step `node` until its injected death; the one record it leaves behind."""
    deadline = time.monotonic() + timeout_s
    while not node.died.is_set():
        assert time.monotonic() < deadline, f"the node never reached its death: {node.state.records()}"
        node.step()
        node.wait_idle(max(1.0, deadline - time.monotonic()))
    (record,) = node.state.records()
    node.close()
    return record


def reader_checkpoint(node: ValidatorNode) -> int:
    """The last block the node's event reader has fully processed, as saved in events.json."""
    return max(json.loads(node.config.checkpoint_path.read_text()).values())


def assert_voted_once(settled: Settled, seat: str) -> None:
    """One seat, one signed vote revealed by the one finalize."""
    (vote,) = settled.named("VoteCast")
    assert vote.tx_hash == settled.finalized.tx_hash
    assert vote.args["validator"] == seat and vote.args["approve"] is True
    finalized = settled.finalized.args
    assert (Outcome(finalized["outcome"]), finalized["accepts"], finalized["rejects"]) == (
        Outcome.ACCEPTED,
        1,
        0,
    )
    record = settled.records[seat]
    assert (record.phase, record.outcome, record.approve) == (Phase.FINALIZED, "accepted", True)


def test_votes_signed_but_undelivered_restarted_node_delivers_the_saved_ones(
    requester: MarketClient,
    digits_job: VerifiableJob,
    provider: ScriptedProvider,
    make_node: Any,
    dev_chain: DevChain,
    relay: MemoryRelay,
) -> None:
    job_id, seat = submit_honest_work(requester, digits_job, provider)
    victim = make_node(seat, kind=DiesBeforeDelivering)
    saved = until_dead(victim)
    assert saved.phase is Phase.VOTING and saved.approve is True and saved.votes, saved
    assert relay.held(job_id) == {}, "nothing reached the gateway before the death"
    assert reader_checkpoint(victim) >= saved.submit_block

    reborn = make_node(seat, client_kind=CountingClient)
    settled = Committee([reborn], requester, dev_chain).run_until_final(job_id)

    assert_voted_once(settled, seat)
    assert isinstance(reborn.market, CountingClient) and reborn.market.votes_signed == 0, "nothing re-signed"
    assert relay.delivered == votes_of(saved), "the saved signature went out as it was"
    record = settled.records[seat]
    # No second replay: same evidence and CPU figure.
    assert (record.tries, record.cpu_s, record.evidence) == (1, saved.cpu_s, saved.evidence)


def test_vote_delivered_but_not_recorded_restarted_node_delivers_it_again_harmlessly(
    requester: MarketClient,
    digits_job: VerifiableJob,
    provider: ScriptedProvider,
    make_node: Any,
    dev_chain: DevChain,
    relay: MemoryRelay,
) -> None:
    job_id, seat = submit_honest_work(requester, digits_job, provider)
    victim = make_node(seat, kind=MortalNode, vote_relay=DeliverThenDie(relay))
    saved = until_dead(victim)
    assert saved.phase is Phase.VOTING, "the death came before the daemon recorded the delivery"
    assert list(relay.held(job_id).values()) == votes_of(saved), "but the gateway has the vote"

    reborn = make_node(seat, client_kind=CountingClient)
    settled = Committee([reborn], requester, dev_chain).run_until_final(job_id)

    assert_voted_once(settled, seat)
    assert isinstance(reborn.market, CountingClient) and reborn.market.votes_signed == 0
    assert relay.delivered == votes_of(saved) * 2, "the same signed vote, handed in twice, revealed once"


def test_gateway_down_the_signed_vote_stays_saved_and_goes_out_once_it_is_back(
    requester: MarketClient,
    digits_job: VerifiableJob,
    provider: ScriptedProvider,
    make_node: Any,
    dev_chain: DevChain,
    relay: MemoryRelay,
) -> None:
    job_id, seat = submit_honest_work(requester, digits_job, provider)
    relay.down = True
    node = make_node(seat)
    deadline = time.monotonic() + 120
    while not node.state.records() or node.state.records()[0].phase is Phase.PENDING:
        assert time.monotonic() < deadline, "no verdict"
        node.step()
        node.wait_idle(max(1.0, deadline - time.monotonic()))
    (early,) = node.state.records()
    assert early.phase is Phase.VOTING and early.approve is True and early.votes, early
    node.step()
    assert node.state.records()[0].phase is Phase.VOTING, "still waiting to deliver, not abstained"

    relay.down = False
    settled = Committee([node], requester, dev_chain).run_until_final(job_id)
    assert_voted_once(settled, seat)
    assert relay.delivered == votes_of(early)


class RecordingExecutor(DockerExecutor):
    """The real Docker executor, recording the replays it starts and those it re-attaches to."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.started: list[str] = []
        self.reattached: list[str] = []

    def start(self, request: ExecutionRequest, *, on_log: LogCallback | None = None) -> None:
        self.started.append(str(request.execution_id))
        super().start(request, on_log=on_log)

    def reattach(self, execution_id: ExecutionId, *, on_log: LogCallback | None = None) -> None:
        self.reattached.append(str(execution_id))
        super().reattach(execution_id, on_log=on_log)


def kill_mid_replay(make_node: Any, seat: str, label: str) -> tuple[Verification, str]:
    """Run the seat's validator until it dies with its replay container running; its record and the
    container's execution id."""
    victim = make_node(seat, kind=MortalNode, executor_kind=DiesWhileReplaying, node_id=label)
    saved = until_dead(victim)
    assert isinstance(victim.verifier.executor, DiesWhileReplaying)
    orphans = victim.verifier.executor.orphans
    victim.verifier.executor.close()  # containers keep running, as after a real kill
    assert len(orphans) == 1 and orphans[0].endswith("-1"), "the death came while the replay ran"
    assert (saved.phase, saved.tries, saved.approve) == (Phase.PENDING, 1, None)
    assert reader_checkpoint(victim) >= saved.submit_block
    return saved, orphans[0]


def containers_of(docker_client: Any, label: str) -> list[Any]:
    return list(docker_client.containers.list(all=True, filters={"label": f"{LABEL_NODE}={label}"}))


def test_node_killed_mid_replay_re_attaches_to_its_replay_and_votes_once(
    requester: MarketClient,
    digits_job: VerifiableJob,
    provider: ScriptedProvider,
    make_node: Any,
    dev_chain: DevChain,
    node_label: Any,
    docker_client: Any,
) -> None:
    job_id, seat = submit_honest_work(requester, digits_job, provider)
    label = node_label("validator")  # the same node identity before and after the restart
    _, orphan = kill_mid_replay(make_node, seat, label)
    assert containers_of(docker_client, label), "the killed node's replay container is still there"

    reborn = make_node(seat, node_id=label, executor_kind=RecordingExecutor)
    settled = Committee([reborn], requester, dev_chain).run_until_final(job_id)

    assert_voted_once(settled, seat)
    assert isinstance(reborn.verifier.executor, RecordingExecutor)
    assert reborn.verifier.executor.started == [], "no second replay"
    assert reborn.verifier.executor.reattached == [orphan], "the restarted node waited for the first one"
    record = settled.records[seat]
    assert record.segments is not None and record.segments[0] == "init" and record.segments[-1] == "final"
    assert containers_of(docker_client, label) == [], "no container is left behind"


def test_node_killed_mid_replay_finds_its_job_settled_removes_the_replay_and_replays_nothing(
    requester: MarketClient,
    digits_job: VerifiableJob,
    provider: ScriptedProvider,
    make_node: Any,
    dev_chain: DevChain,
    node_label: Any,
    docker_client: Any,
) -> None:
    job_id, seat = submit_honest_work(requester, digits_job, provider)
    label = node_label("validator")
    kill_mid_replay(make_node, seat, label)
    # While the node is down, its window and the appeal window close and the job is settled without its vote.
    mine_until_settleable(requester, job_id)
    assert requester.finalize(job_id).outcome is Outcome.UNVERIFIED

    reborn = make_node(seat, node_id=label, executor_kind=RecordingExecutor)
    for _ in range(3):
        reborn.step()
        assert reborn.wait_idle(60)

    assert isinstance(reborn.verifier.executor, RecordingExecutor)
    assert reborn.verifier.executor.started == [], "a settled job is never replayed"
    assert containers_of(docker_client, label) == [], "the replay whose result is useless is removed"
    (record,) = reborn.state.records()
    assert (record.phase, record.outcome, record.tries) == (Phase.ABSTAINED, "unverified", 1), record
    assert "before this node verified it" in record.reason
    assert requester.job(job_id).votes == (0, 0)


def test_node_killed_mid_replay_whose_window_closes_after_its_restart_removes_the_kept_replay(
    requester: MarketClient,
    digits_job: VerifiableJob,
    provider: ScriptedProvider,
    make_node: Any,
    dev_chain: DevChain,
    node_label: Any,
    docker_client: Any,
) -> None:
    _, seat = submit_honest_work(requester, digits_job, provider)
    label = node_label("validator")
    saved, _ = kill_mid_replay(make_node, seat, label)

    reborn = make_node(seat, node_id=label, executor_kind=RecordingExecutor)
    reborn._start()  # the window is still open at restart: the seat stays pending and keeps its replay
    reborn._started = True
    assert containers_of(docker_client, label), "the replay is kept for the seat to re-attach to"
    dev_chain.mine_until(saved.last_block)  # the window closes before the seat's verification starts
    reborn.step()
    assert reborn.wait_idle(60)

    assert isinstance(reborn.verifier.executor, RecordingExecutor)
    assert reborn.verifier.executor.started == [], "a closed window is never replayed"
    assert containers_of(docker_client, label) == [], "the kept replay goes with its seat"
    record = reborn.state.get(*saved.key)
    assert record is not None and record.phase is Phase.ABSTAINED, record
    assert "before this node verified it" in (record.reason or "")
