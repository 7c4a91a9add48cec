"""A validator that dies and is started again on the same data dir votes once, never twice, never not.

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
import threading
import time
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from chain import CastVote, DevChain, Evidence, MarketClient, Outcome, Rpc, TxSender, seed_block
from jobs.executors import ExecutionId, ExecutionRequest
from jobs.executors.base import LogCallback
from jobs.executors.docker import LABEL_NODE, DockerExecutor
from tests.validator.cheaters import ScriptedProvider
from tests.validator.deaths import (
    DiesBeforeSending,
    DiesWhileMining,
    DiesWhileReplaying,
    MortalNode,
    VoteThenDie,
)
from tests.validator.seats import submit_to_one_seat
from tests.validator.validator_cast import Committee, Settled, VerifiableJob
from validator.daemon import ValidatorNode
from validator.state import Phase, Verification

pytestmark = pytest.mark.slow


class CountingClient(MarketClient):
    """The real client, counting the votes it is asked to send."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.votes_asked = 0

    def vote(
        self, job_id: int, approve: bool, evidence: Evidence | None = None, *, slot: int | None = None
    ) -> CastVote:
        self.votes_asked += 1
        return super().vote(job_id, approve, evidence, slot=slot)


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
    (vote,) = settled.named("VoteCast")
    assert vote.args["validator"] == seat and vote.args["approve"] is True
    finalized = settled.finalized.args
    assert (Outcome(finalized["outcome"]), finalized["accepts"], finalized["rejects"]) == (
        Outcome.ACCEPTED,
        1,
        0,
    )
    record = settled.records[seat]
    assert (record.phase, record.outcome, record.approve) == (Phase.FINALIZED, "accepted", True)


def test_verdict_saved_but_vote_unsent_restarted_node_sends_it_once(
    requester: MarketClient,
    digits_job: VerifiableJob,
    provider: ScriptedProvider,
    make_node: Any,
    dev_chain: DevChain,
) -> None:
    job_id, seat = submit_honest_work(requester, digits_job, provider)
    victim = make_node(seat, kind=DiesBeforeSending)
    saved = until_dead(victim)
    assert saved.phase is Phase.VOTING and saved.approve is True, saved
    assert requester.job(job_id).voted_mask == 0, "nothing was sent before the death"
    assert reader_checkpoint(victim) >= saved.submit_block

    reborn = make_node(seat, client_kind=CountingClient)
    settled = Committee([reborn], requester, dev_chain).run_until_final(job_id)

    assert_voted_once(settled, seat)
    assert isinstance(reborn.market, CountingClient) and reborn.market.votes_asked == 1
    record = settled.records[seat]
    assert record.vote_tx.lower() == settled.named("VoteCast")[0].tx_hash.lower()
    # The saved verdict was sent as it was: no second replay, same evidence and CPU figure.
    assert (record.tries, record.cpu_s, record.evidence) == (1, saved.cpu_s, saved.evidence)


def test_vote_mined_but_not_recorded_restarted_node_reads_the_chain_and_does_not_vote_again(
    requester: MarketClient,
    digits_job: VerifiableJob,
    provider: ScriptedProvider,
    make_node: Any,
    dev_chain: DevChain,
) -> None:
    job_id, seat = submit_honest_work(requester, digits_job, provider)
    victim = make_node(seat, kind=MortalNode, client_kind=VoteThenDie)
    saved = until_dead(victim)
    assert saved.phase is Phase.VOTING, "the death came before the daemon recorded the vote"
    view = requester.job(job_id)
    assert view.voted_mask >> saved.slot & 1 and view.votes == (1, 0), "but the vote is on chain"

    reborn = make_node(seat, client_kind=CountingClient)
    settled = Committee([reborn], requester, dev_chain).run_until_final(job_id)

    assert_voted_once(settled, seat)
    assert isinstance(reborn.market, CountingClient)
    assert reborn.market.votes_asked == 0, "the vote mask answered; no vote (nor AlreadyVoted) was tried"


class EstimatesAtLatest(TxSender):
    """The real sender, estimating gas against the latest block as geth does by default (anvil estimates
    against the pending one, where a vote already in the mempool makes a second one revert at once)."""

    def estimate(self, account: LocalAccount, to: str | None, data: bytes, value: int = 0) -> int:
        call = {"from": account.address, "to": to, "data": "0x" + data.hex(), "value": hex(value)}
        return int(int(self.rpc.request("eth_estimateGas", [call, "latest"]), 16) * self.gas_margin)


@pytest.mark.parametrize("estimate_at", ["pending", "latest"])
def test_vote_still_in_the_mempool_restarted_node_records_the_slot_as_voted(
    estimate_at: str,
    requester: MarketClient,
    digits_job: VerifiableJob,
    provider: ScriptedProvider,
    make_node: Any,
    dev_chain: DevChain,
    rpc: Rpc,
) -> None:
    """The hardest instant: the vote was broadcast but not mined when the node died, so the restarted
    node finds no vote on chain and votes again. Estimating against the pending block (anvil), the second
    vote fails its gas estimate with AlreadyVoted and is never sent; against the latest block (geth), it is
    sent, lands in the same block as the first and reverts there. Either way the first vote stands and
    the node must record its slot as voted, not as refused."""
    job_id, seat = submit_honest_work(requester, digits_job, provider)
    dev_chain.mine(1)  # a block after the seed block, as on a live chain: voting is open at "latest"
    mined = rpc.nonce(seat, "latest")
    victim = make_node(seat, kind=MortalNode, tx_sender=DiesWhileMining(rpc))
    rpc.request("evm_setAutomine", [False])
    try:
        saved = until_dead(victim)
        assert saved.phase is Phase.VOTING and requester.job(job_id).voted_mask == 0
        assert rpc.nonce(seat, "pending") == mined + 1, "the vote waits in the mempool"

        sender = EstimatesAtLatest(rpc) if estimate_at == "latest" else None
        reborn = make_node(seat, tx_sender=sender, finalize=False)
        restart = threading.Thread(target=reborn.step, name="restarted-node")
        restart.start()
        deadline = time.monotonic() + 60
        while restart.is_alive() and rpc.nonce(seat, "pending") < mined + 2:
            assert time.monotonic() < deadline, "the restarted node neither voted nor finished its step"
            time.sleep(0.05)
    finally:
        rpc.request("evm_setAutomine", [True])  # mines whatever waits in the mempool, soon
    restart.join(60)
    assert not restart.is_alive()
    while rpc.nonce(seat, "latest") < rpc.nonce(seat, "pending"):
        assert time.monotonic() < deadline + 60, "the mempool was not mined"
        time.sleep(0.05)

    sent = rpc.nonce(seat, "latest") - mined
    assert sent == (2 if estimate_at == "latest" else 1)
    view = requester.job(job_id)
    assert view.voted_mask >> saved.slot & 1 and view.votes == (1, 0)
    (record,) = reborn.state.records()
    assert record.phase is Phase.VOTED, record
    reborn.close()
    settled = Committee([make_node(seat)], requester, dev_chain).run_until_final(job_id)
    assert_voted_once(settled, seat)


def test_vote_refused_as_too_early_stays_saved_and_is_sent_once_a_block_follows(
    requester: MarketClient,
    digits_job: VerifiableJob,
    provider: ScriptedProvider,
    make_node: Any,
    dev_chain: DevChain,
    rpc: Rpc,
) -> None:
    """Estimating against the latest block, a vote sent while the seed block (the one after the submission)
    is the latest is refused with VotingNotOpen. That is no reason to give the seat up: the verdict stays
    saved and goes out once the chain has moved on."""
    job_id, seat = submit_honest_work(requester, digits_job, provider)
    node = make_node(seat, tx_sender=EstimatesAtLatest(rpc))
    deadline = time.monotonic() + 120
    while not node.state.records() or node.state.records()[0].phase is Phase.PENDING:
        assert time.monotonic() < deadline, "no verdict"
        node.step()
        node.wait_idle(max(1.0, deadline - time.monotonic()))
    (early,) = node.state.records()
    assert rpc.block_number() == seed_block(early.submit_block), "no block has followed the seed block yet"
    assert early.phase is Phase.VOTING and early.approve is True, early
    node.step()
    assert node.state.records()[0].phase is Phase.VOTING, "still waiting, not abstained"

    dev_chain.mine(1)
    settled = Committee([node], requester, dev_chain).run_until_final(job_id)
    assert_voted_once(settled, seat)


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
    saved, _ = kill_mid_replay(make_node, seat, label)
    # While the node is down, its window closes and the job is settled without its vote.
    dev_chain.mine(saved.last_block - requester.rpc.block_number() + 1)
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
