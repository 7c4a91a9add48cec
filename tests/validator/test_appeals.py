"""Appeals on the real chain, without Docker: a committee round that rejects honest work is appealed by the
provider node (or, when the provider does not appeal, by an outvoted validator with its default limit), and
the validator daemons judge the appeal round.

Round 0's revealed votes are forged rejections signed with the seat holders' keys (a bribed committee, as
the gateway reveals it), while the daemons' own round-0 votes never reach the relay (`RiggedRelay`). The
provider node, which ran the job, reads the rejection in the appeal window and appeals; the daemons draw
their seats in round 1 (31 seats), sign the verdict they already reached (never re-running work they did),
and the job is accepted: the provider is paid and gets its bond back, never slashed. The daemons' verifier
accepts without re-running (as the lazy validator of cheaters.py; this file runs no container).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from chain import (
    DEV_ADDRESSES,
    Deployment,
    DevChain,
    Evidence,
    JobId,
    JobStatus,
    MarketClient,
    Outcome,
    Rpc,
    SignedVote,
    TxSender,
    VerificationMode,
    dev_account,
    round_seats,
    seat_bond,
    tokens,
)
from chain.compiler import Artifacts
from jobs.executors.noop import NoopExecutor
from jobs.store import EmbeddedStore
from provider_node.config import NodeConfig
from provider_node.daemon import ProviderNode
from provider_node.state import Phase as ProviderPhase
from tests.provider_node.fake_executors import NestedOutputExecutor
from tests.provider_node.provider_jobs import make_bundle, post_job
from tests.validator.relays import MemoryRelay
from tests.validator.validator_cast import HONEST_PROVIDER, VALIDATORS
from validator.config import ValidatorConfig
from validator.daemon import ValidatorNode
from validator.verdict import Verdict
from validator.verify import Submission, Verifier

pytestmark = [pytest.mark.chain, pytest.mark.slow]

VERIFY_BLOCKS = 8
CHECKPOINTS = [f"checkpoint {i}".encode() for i in range(3)]
OUTPUT = {
    "model.bin": b"final model",
    **{f"checkpoints/c{i}.bin": data for i, data in enumerate(CHECKPOINTS)},
    "checkpoints/manifest.json": json.dumps(
        {
            "checkpoints": [
                {"index": i, "digest": hashlib.sha256(d).hexdigest()} for i, d in enumerate(CHECKPOINTS)
            ]
        }
    ).encode(),
}


class CountingVerifier(Verifier):
    """Accepts without fetching or re-running; counts the verifications asked of it, by job."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[int] = []

    def verify(self, submission: Submission, *, tries: int = 0) -> Verdict:
        self.calls.append(submission.job_id)
        root = submission.checkpoint_root
        return Verdict(True, "re-ran it (in this test: took it as read)", Evidence(0, root, root))


class CountingValidatorNode(ValidatorNode):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        real = self.verifier
        self.verifier = CountingVerifier(real.store, real.executor, real.bundles, real.work_dir, real.me)


class RiggedRelay:
    """The shared relay, except that the daemons' round-0 votes are dropped on the floor (answered as
    stored): round 0 reveals only what the test put in `inner`."""

    def __init__(self, inner: MemoryRelay) -> None:
        self.inner = inner
        self.url = inner.url
        self.dropped: list[SignedVote] = []

    def deliver(self, vote: SignedVote) -> None:
        if vote.round == 0:
            self.dropped.append(vote)
            return
        self.inner.deliver(vote)

    def revealed(self, job_id: JobId, round_: int = 0) -> Sequence[SignedVote] | None:
        return self.inner.revealed(job_id, round_)


def make_provider_node(
    requester: MarketClient, store: EmbeddedStore, relay: MemoryRelay, tmp_path: Path, **config: Any
) -> ProviderNode:
    def votes(job_id: JobId, round_: int) -> list[SignedVote] | None:
        revealed = relay.revealed(job_id, round_)
        return None if revealed is None else list(revealed)

    return ProviderNode(
        requester.with_account(dev_account(HONEST_PROVIDER)),
        store,
        NestedOutputExecutor(OUTPUT),
        NodeConfig(data_dir=tmp_path / "provider", poll_interval_s=0.05, **config),
        votes=votes,
    )


@pytest.fixture
def provider_node(requester: MarketClient, store: EmbeddedStore, relay: MemoryRelay, tmp_path: Path) -> Any:
    node = make_provider_node(requester, store, relay, tmp_path)
    yield node
    node.close()


@pytest.fixture
def passive_provider_node(
    requester: MarketClient, store: EmbeddedStore, relay: MemoryRelay, tmp_path: Path
) -> Any:
    """A provider node that never appeals (`--max-appeal-bond 0`): the validators must defend themselves."""
    node = make_provider_node(requester, store, relay, tmp_path, max_appeal_bond=0)
    yield node
    node.close()


@pytest.fixture
def daemons(
    rpc: Rpc,
    deployment: Deployment,
    artifacts: Artifacts,
    sender: TxSender,
    store: EmbeddedStore,
    relay: MemoryRelay,
    tmp_path: Path,
) -> Any:
    rigged = RiggedRelay(relay)
    nodes = [
        CountingValidatorNode(
            MarketClient(rpc, deployment, artifacts=artifacts, sender=sender, account=dev_account(index)),
            store,
            NoopExecutor(),
            ValidatorConfig(data_dir=tmp_path / f"validator-{index}", poll_interval_s=0.05, retry_s=0.0),
            relay=rigged,
        )
        for index in VALIDATORS
    ]
    yield nodes, rigged
    for node in nodes:
        node.close()


def drive(
    anvil_chain: DevChain,
    provider_daemon: ProviderNode,
    nodes: list[CountingValidatorNode],
    done: Callable[[], bool],
    blocks: int,
) -> None:
    """Step every node, wait for their workers, mine a block; until `done` or `blocks` blocks passed."""
    for _ in range(blocks):
        provider_daemon.step()
        assert provider_daemon.wait_idle(30)
        for node in nodes:
            node.step()
        for node in nodes:
            assert node.wait_idle(30), "a verification hangs"
        if done():
            return
        anvil_chain.mine(1)
    raise AssertionError(f"not done after {blocks} blocks")


def test_a_wrong_rejection_is_appealed_by_the_provider_and_overturned_by_the_validators(
    requester: MarketClient,
    store: EmbeddedStore,
    relay: MemoryRelay,
    provider_node: ProviderNode,
    daemons: Any,
    dev_chain: DevChain,
    tmp_path: Path,
) -> None:
    nodes, rigged = daemons
    bundle = make_bundle(store, tmp_path / "job")
    job_id = post_job(
        requester,
        bundle,
        mode=VerificationMode.SEGMENTS,
        committee_size=3,
        samples_per_validator=1,
        verify_blocks=VERIFY_BLOCKS,
        validator_fee=tokens("0.2"),  # round 1's 31 fees bond less than the budget: the node's default limit
    )
    provider = requester.with_account(dev_account(HONEST_PROVIDER))
    before = provider.account_of()

    def submitted() -> bool:
        record = provider_node.state.get(job_id)
        return record is not None and record.phase is ProviderPhase.SUBMITTED

    drive(dev_chain, provider_node, nodes, submitted, 10)
    dev_chain.mine(1)  # round 0's seed block: its committee is known
    for seat, holder in enumerate(requester.committee_of(job_id)):
        liar = requester.with_account(dev_account(DEV_ADDRESSES.index(holder)))
        relay.deliver(liar.sign_vote(job_id, seat, False, Evidence(0, b"\x01" * 32, b"\x02" * 32)))

    drive(
        dev_chain, provider_node, nodes, lambda: requester.job(job_id).job.state.round == 1, 4 * VERIFY_BLOCKS
    )
    appealed = [e for e in requester.job(job_id).events if e.name == "JobAppealed"]
    assert [(e.args["round"], e.args["appellant"]) for e in appealed] == [(1, provider.me)]
    bond = int(appealed[0].args["bond"])
    assert rigged.dropped, "the daemons voted in round 0 (their votes were kept from the relay)"

    drive(
        dev_chain,
        provider_node,
        nodes,
        lambda: requester.job(job_id).status != JobStatus.SUBMITTED,
        5 * VERIFY_BLOCKS,
    )
    view = requester.job(job_id)
    assert view.outcome == Outcome.ACCEPTED
    round_1 = relay.held(job_id, 1)
    assert len(round_1) == round_seats(3, 1) and all(vote.approve for vote in round_1.values())
    assert {vote.validator for vote in round_1.values()} <= {node.me for node in nodes}
    after = provider.account_of()
    assert after.stake == before.stake, "the provider is never slashed"
    paid = [e for e in view.events if e.name == "ProviderPaid"]
    assert paid and int(after.balance) - int(before.balance) >= int(paid[0].args["payment"]) + bond
    # Each daemon verified the result once: a round-0 verdict is signed again in round 1, never re-run.
    assert [node.verifier.calls for node in nodes] == [[job_id]] * len(nodes)
    for node in nodes:
        rounds = node.state.rounds(JobId(job_id), view.job.state.attempts)
        assert rounds and rounds[-1].round == 1 and rounds[-1].outcome == "accepted"


def test_by_default_an_outvoted_validator_appeals_and_the_larger_committee_bears_it_out(
    requester: MarketClient,
    store: EmbeddedStore,
    relay: MemoryRelay,
    passive_provider_node: ProviderNode,
    daemons: Any,
    dev_chain: DevChain,
    tmp_path: Path,
) -> None:
    """Round 0's revealed votes reject, each daemon's own approvals standing for its own seats: a daemon
    holding a minority of the 7 seats lost the round, and with no `max_appeal_bond` set it appeals (the
    bond, 31 fees at least validatorSlash, is at most the seat bond it would lose). Seven seats so that some
    daemon holds a minority but for a draw of all seven to one daemon (3 in 3**7)."""
    nodes, rigged = daemons
    assert all(node.config.max_appeal_bond is None for node in nodes)
    bundle = make_bundle(store, tmp_path / "job")
    job_id = post_job(
        requester,
        bundle,
        mode=VerificationMode.SEGMENTS,
        committee_size=7,
        samples_per_validator=1,
        verify_blocks=VERIFY_BLOCKS,
        validator_fee=tokens("0.2"),
    )

    def submitted() -> bool:
        record = passive_provider_node.state.get(job_id)
        return record is not None and record.phase is ProviderPhase.SUBMITTED

    drive(dev_chain, passive_provider_node, nodes, submitted, 10)
    dev_chain.mine(1)  # round 0's seed block: its committee is known
    holders = requester.committee_of(job_id)
    for seat, holder in enumerate(holders):
        liar = requester.with_account(dev_account(DEV_ADDRESSES.index(holder)))
        relay.deliver(liar.sign_vote(job_id, seat, False, Evidence(0, b"\x01" * 32, b"\x02" * 32)))
    seats_of = {node.me: holders.count(node.me) for node in nodes}
    losers = {me for me, seats in seats_of.items() if 0 < seats <= len(holders) // 2}
    assert losers, f"one daemon holds every seat ({seats_of}): nobody's vote lost"
    view = requester.job(job_id)
    spec, slash = view.job.spec, requester.config().validator_slash
    bond = requester.appeal_bond(job_id)
    assert bond <= seat_bond(spec.budget, spec.committee_size, 0, slash), "the default limit pays this bond"
    before = {me: requester.account_of(me) for me in losers}

    drive(
        dev_chain,
        passive_provider_node,
        nodes,
        lambda: requester.job(job_id).job.state.round == 1,
        4 * VERIFY_BLOCKS,
    )
    appealed = [e for e in requester.job(job_id).events if e.name == "JobAppealed"]
    assert len(appealed) == 1 and appealed[0].args["round"] == 1
    appellant = appealed[0].args["appellant"]
    assert appellant in losers, "an outvoted validator appealed, not the provider"
    assert int(appealed[0].args["bond"]) == bond
    assert rigged.dropped, "the daemons voted in round 0 (their votes were kept from the relay)"
    attempt = requester.job(job_id).job.state.attempts
    (appellant_node,) = [node for node in nodes if node.me == appellant]
    assert appellant_node.state.rounds(JobId(job_id), attempt)[0].appealed, (
        "its round-0 record notes the appeal"
    )

    drive(
        dev_chain,
        passive_provider_node,
        nodes,
        lambda: requester.job(job_id).status != JobStatus.SUBMITTED,
        5 * VERIFY_BLOCKS,
    )
    assert requester.job(job_id).outcome == Outcome.ACCEPTED
    after = requester.account_of(appellant)
    assert after.stake == before[appellant].stake, "the appellant's round-0 seats were not slashed"
    assert after.balance >= before[appellant].balance, "its appeal bond came back (with the fees it earned)"
