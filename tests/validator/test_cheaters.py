"""Cheaters against the real thing: anvil and the market contracts, the runtime image in Docker, three
in-process validator daemons (3 seats drawn among them by stake, mode segments) and, for the honest run, a
real provider node.

Each scripted cheat produces a well-formed commitment (its manifest's digests match the root it submits),
so only re-executing a sample can catch it; each must end Rejected with the provider's collateral slashed
and the requester refunded (or the job reopened, as the job chose), every vote carrying its evidence.
The honest provider is accepted and paid; a lazy validator that accepts without checking is outvoted
and slashed. The job is the digits example cut to 10 segments of 20 steps.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from chain import DEV_ADDRESSES, ZERO_BYTES32, DevChain, JobStatus, MarketClient, Outcome, dev_account, tokens
from jobs.executors.docker import DockerExecutor
from jobs.store import EmbeddedStore
from provider_node.config import NodeConfig
from provider_node.daemon import ProviderNode
from provider_node.state import Phase as ProviderPhase
from tests.validator.cheaters import (
    Cheat,
    LazyValidatorNode,
    ScriptedProvider,
    Submitted,
    honest_unique,
    other_data,
    random_final_model,
    skip_steps,
    withhold_checkpoints,
)
from tests.validator.validator_cast import (
    CHEATER,
    HONEST_PROVIDER,
    REQUESTER,
    VALIDATORS,
    CommitteeFactory,
    Ledger,
    Settled,
    VerifiableJob,
    job_spec,
)
from validator.daemon import ValidatorNode
from validator.state import Phase
from validator.verdict import WITHHELD

pytestmark = pytest.mark.slow

SEGMENTS = 10  # checkpoints 0..10; the last is checkpoint 10
WATCHED = [DEV_ADDRESSES[i] for i in (REQUESTER, HONEST_PROVIDER, CHEATER, *VALIDATORS)]


@pytest.fixture
def cheater(
    requester: MarketClient, store: EmbeddedStore, digits_job: VerifiableJob, tmp_path: Path
) -> ScriptedProvider:
    return ScriptedProvider(
        requester.with_account(dev_account(CHEATER)), store, digits_job.folder, tmp_path / "cheater"
    )


def assert_fees_per_seat(settled: Settled, before: Ledger, after: Ledger, fee: int) -> None:
    """Every seat voted on the winning side: each holder earns one fee per seat, the others nothing."""
    seats = settled.seats()
    for index in VALIDATORS:
        address = DEV_ADDRESSES[index]
        assert before.delta(after, address) == ({"balance": fee * seats[address]} if seats[address] else {})


def cheat_and_settle(
    requester: MarketClient,
    digits_job: VerifiableJob,
    cheater: ScriptedProvider,
    make_committee: CommitteeFactory,
    cheat: Cheat,
    *,
    publish: bool = True,
    mine_per_round: int = 0,
    lazy: bool = False,
    **spec: Any,
) -> tuple[Submitted, Settled, Ledger, Ledger]:
    """Post, let the cheater claim and submit, run the committee to a verdict; the ledgers around it.
    `lazy`: the seat holder with the fewest seats runs the lazy daemon (a minority while two or more
    validators hold seats)."""
    before = Ledger.read(requester, WATCHED)
    job_id = requester.post_job(job_spec(digits_job.cid, **spec)).job_id
    submitted = cheater.run(job_id, cheat, publish=publish)
    kinds: dict[int, type[ValidatorNode]] = {}
    if lazy:
        DevChain(requester.rpc).mine(1)  # the seed block: the seats are known
        seats = Counter(requester.committee_of(job_id))
        assert len(seats) >= 2, f"one validator holds every seat: {seats}"
        fewest = min(seats, key=lambda address: seats[address])
        kinds[DEV_ADDRESSES.index(fewest)] = LazyValidatorNode
    committee = make_committee(kinds)
    settled = committee.run_until_final(job_id, mine_per_round=mine_per_round)
    return submitted, settled, before, Ledger.read(requester, WATCHED)


def assert_rejected_by_all(settled: Settled, submitted: Submitted) -> dict[str, dict[str, Any]]:
    """Rejected by every seat, each reject carrying evidence that names a committed digest; returns the
    evidence by validator."""
    finalized = settled.finalized.args
    assert (Outcome(finalized["outcome"]), finalized["accepts"], finalized["rejects"]) == (
        Outcome.REJECTED,
        0,
        3,
    )
    votes = settled.votes()
    assert set(votes) == {address for address, record in settled.records.items() if record.seats}
    evidence = {}
    for address, vote in votes.items():
        assert vote.args["approve"] is False
        record = settled.records[address]
        assert record.phase is Phase.FINALIZED and record.approve is False and record.outcome == "rejected"
        found = vote.args["evidence"]
        assert record.evidence == {
            "segment": found["segment"],
            "committed": found["committedDigest"].hex(),
            "recomputed": found["recomputedDigest"].hex(),
            "reason": int(found["reason"]),
        }, "the vote carries the evidence the daemon recorded"
        if found["segment"] < len(submitted.digests):
            assert found["committedDigest"] == submitted.digests[found["segment"]]
        evidence[address] = {**found, "reason": record.reason, "segments": record.segments}
    return evidence


def assert_provider_slashed_and_requester_refunded(
    settled: Settled, before: Ledger, after: Ledger, requester: MarketClient, job_id: int
) -> None:
    spec = requester.job(job_id).job.spec
    cheater, asker = DEV_ADDRESSES[CHEATER], DEV_ADDRESSES[REQUESTER]
    assert settled.slashed() == {cheater: spec.collateral}
    assert before.delta(after, cheater) == {"stake": -spec.collateral}
    # The remaining escrow (the budget; every fee went to a voter) plus the whole collateral.
    assert before.delta(after, asker) == {"balance": spec.budget + spec.protocol_fee + spec.collateral}
    assert settled.credited(asker) == spec.budget + spec.protocol_fee + spec.collateral
    assert_fees_per_seat(settled, before, after, spec.validator_fee)
    assert requester.status_of(job_id) == JobStatus.CLOSED
    assert not settled.named("ProviderPaid") and not settled.named("JobReopened")


def test_honest_provider_is_accepted_by_the_committee_and_paid(
    requester: MarketClient,
    store: EmbeddedStore,
    digits_job: VerifiableJob,
    make_committee: CommitteeFactory,
    docker_client: Any,
    node_label: Any,
    tmp_path: Path,
) -> None:
    before = Ledger.read(requester, WATCHED)
    posted = requester.post_job(job_spec(digits_job.cid))
    job_id = posted.job_id
    executor = DockerExecutor(docker_client, node_id=node_label("provider"), poll_interval_s=0.1)
    provider = ProviderNode(
        requester.with_account(dev_account(HONEST_PROVIDER)),
        store,
        executor,
        NodeConfig(data_dir=tmp_path / "provider", poll_interval_s=0.05),
    )
    try:
        assert provider.step().claimed == [job_id]
        assert provider.wait_idle(180)
        run = provider.state.get(job_id)
        assert run is not None and run.phase is ProviderPhase.SUBMITTED, run
    finally:
        provider.close()
        executor.close()

    settled = make_committee().run_until_final(job_id)

    finalized = settled.finalized.args
    assert (Outcome(finalized["outcome"]), finalized["accepts"], finalized["rejects"]) == (
        Outcome.ACCEPTED,
        3,
        0,
    )
    spec = posted.job.spec
    (paid,) = settled.named("ProviderPaid")
    assert (paid.args["provider"], paid.args["payment"], paid.args["reward"]) == (
        DEV_ADDRESSES[HONEST_PROVIDER],
        spec.budget,
        spec.reward,
    )
    assert spec.reward > 0 and not settled.slashed()
    after = Ledger.read(requester, WATCHED)
    assert before.delta(after, DEV_ADDRESSES[HONEST_PROVIDER]) == {
        "balance": spec.budget,
        "reward_owed": spec.reward,
    }
    assert before.delta(after, DEV_ADDRESSES[REQUESTER]) == {}, "every fee was earned: nothing comes back"
    assert_fees_per_seat(settled, before, after, spec.validator_fee)
    for address in settled.seats():
        record = settled.records[address]
        # Each validator really re-ran its own sample in Docker: init, two segments, final.
        assert record.approve is True and record.outcome == "accepted", record
        assert record.segments is not None and len(record.segments) == 4
        assert record.segments[0] == "init" and record.segments[-1] == "final"
        assert record.cpu_s is not None and record.cpu_s > 0
        evidence = settled.votes()[address].args["evidence"]
        assert evidence["segment"] == int(record.segments[1]) + 1
        assert evidence["committedDigest"] == evidence["recomputedDigest"] != ZERO_BYTES32
    assert requester.status_of(job_id) == JobStatus.CLOSED


def test_provider_skipping_steps_is_rejected_and_slashed(
    requester: MarketClient,
    digits_job: VerifiableJob,
    cheater: ScriptedProvider,
    make_committee: CommitteeFactory,
) -> None:
    submitted, settled, before, after = cheat_and_settle(
        requester, digits_job, cheater, make_committee, skip_steps
    )
    for found in assert_rejected_by_all(settled, submitted).values():
        # The first sampled segment re-runs to another state than the next committed checkpoint.
        segment = found["segment"]
        assert 1 <= segment <= SEGMENTS and str(segment - 1) in found["segments"]
        assert found["recomputedDigest"] not in (ZERO_BYTES32, found["committedDigest"])
        assert f"re-running segment {segment - 1} gives another state" in found["reason"]
    assert_provider_slashed_and_requester_refunded(settled, before, after, requester, submitted.job_id)


def test_random_final_model_is_rejected_and_the_job_reopens(
    requester: MarketClient,
    digits_job: VerifiableJob,
    cheater: ScriptedProvider,
    make_committee: CommitteeFactory,
) -> None:
    submitted, settled, before, after = cheat_and_settle(
        requester, digits_job, cheater, make_committee, random_final_model, reopen_on_failure=True
    )
    for found in assert_rejected_by_all(settled, submitted).values():
        # The checkpoints are honest; the last one recomputes, but model.pt is not its model.
        assert found["segment"] == SEGMENTS
        assert found["committedDigest"] == found["recomputedDigest"] == submitted.digests[-1]
        assert "model.pt in the result is not the model of the last checkpoint" in found["reason"]

    job_id = submitted.job_id
    spec = requester.job(job_id).job.spec
    (reopened,) = settled.named("JobReopened")
    assert reopened.args["attempts"] == 1
    view = requester.job(job_id)
    assert view.status == JobStatus.OPEN and view.job.state.attempts == 1
    cheater_address, asker = DEV_ADDRESSES[CHEATER], DEV_ADDRESSES[REQUESTER]
    assert settled.slashed() == {cheater_address: spec.collateral}
    assert before.delta(after, cheater_address) == {"stake": -spec.collateral}
    # The collateral first restores the three fees the votes used (the open job holds its full escrow
    # again); the requester is credited the rest.
    compensation = spec.collateral - spec.committee_size * spec.validator_fee
    assert before.delta(after, asker) == {"balance": compensation}
    assert_fees_per_seat(settled, before, after, spec.validator_fee)


def test_provider_training_on_other_data_is_rejected_and_slashed(
    requester: MarketClient,
    digits_job: VerifiableJob,
    cheater: ScriptedProvider,
    make_committee: CommitteeFactory,
) -> None:
    submitted, settled, before, after = cheat_and_settle(
        requester, digits_job, cheater, make_committee, other_data
    )
    for found in assert_rejected_by_all(settled, submitted).values():
        # Same initialisation (checkpoint 0 passes); the sampled segment diverges on the real data.
        segment = found["segment"]
        assert 1 <= segment <= SEGMENTS and str(segment - 1) in found["segments"]
        assert found["recomputedDigest"] not in (ZERO_BYTES32, found["committedDigest"])
    assert_provider_slashed_and_requester_refunded(settled, before, after, requester, submitted.job_id)


def test_provider_withholding_checkpoint_files_is_rejected_and_slashed(
    requester: MarketClient,
    digits_job: VerifiableJob,
    cheater: ScriptedProvider,
    make_committee: CommitteeFactory,
) -> None:
    submitted, settled, before, after = cheat_and_settle(
        requester, digits_job, cheater, make_committee, withhold_checkpoints
    )
    for found in assert_rejected_by_all(settled, submitted).values():
        # Digests committed, files missing: the sampled segment cannot start from its checkpoint.
        segment = found["segment"]
        assert 1 <= segment <= SEGMENTS and found["recomputedDigest"] == ZERO_BYTES32
        assert "the provider's checkpoint could not be used" in found["reason"]
    assert_provider_slashed_and_requester_refunded(settled, before, after, requester, submitted.job_id)


def test_provider_withholding_the_whole_result_is_rejected_once_it_had_its_time(
    requester: MarketClient,
    digits_job: VerifiableJob,
    cheater: ScriptedProvider,
    make_committee: CommitteeFactory,
    store: EmbeddedStore,
) -> None:
    submitted, settled, before, after = cheat_and_settle(
        requester,
        digits_job,
        cheater,
        make_committee,
        honest_unique,  # even honest work counts for nothing when nobody can fetch it
        publish=False,
        mine_per_round=3,
    )
    assert not store.has(submitted.cid)
    job = requester.job(submitted.job_id).job
    finalized_block, window = settled.finalized.block_number, job.spec.verify_blocks
    for address, found in assert_rejected_by_all(settled, submitted).items():
        assert found["segment"] == WITHHELD
        assert found["committedDigest"] == submitted.commitment.result_digest
        assert found["recomputedDigest"] == ZERO_BYTES32
        assert "withheld" in found["reason"]
        record = settled.records[address]
        # It kept trying until half the window had passed, then signed within the window; votes are
        # revealed by the finalize, which came once the appeal window had passed.
        assert record.tries > 1
        assert record.updated_at > 0 and finalized_block > record.last_block + window
        assert settled.votes()[address].block_number == finalized_block
    assert finalized_block >= job.state.submit_block + window // 2
    assert_provider_slashed_and_requester_refunded(settled, before, after, requester, submitted.job_id)


def test_lazy_validator_is_outvoted_by_honest_ones_and_slashed(
    requester: MarketClient,
    digits_job: VerifiableJob,
    cheater: ScriptedProvider,
    make_committee: CommitteeFactory,
) -> None:
    """Fifteen seats among three validators: the one drawn for the fewest is lazy, the others a majority."""
    submitted, settled, before, after = cheat_and_settle(
        requester,
        digits_job,
        cheater,
        make_committee,
        skip_steps,
        lazy=True,
        committee_size=15,
        collateral=tokens(20),
    )
    seats = settled.seats()
    lazy = next(
        address for address, record in settled.records.items() if record.reason == "looks fine (not checked)"
    )
    honest = [address for address in seats if address != lazy]
    finalized = settled.finalized.args
    assert (Outcome(finalized["outcome"]), finalized["accepts"], finalized["rejects"]) == (
        Outcome.REJECTED,
        seats[lazy],
        15 - seats[lazy],
    )
    job_id = submitted.job_id
    spec = requester.job(job_id).job.spec
    slash = requester.config().validator_slash
    votes = settled.votes()
    assert votes[lazy].args["approve"] is True
    assert all(votes[address].args["approve"] is False for address in honest)
    assert settled.records[lazy].cpu_s is None, "the lazy validator re-ran nothing"
    assert all((settled.records[a].cpu_s or 0) > 0 for a in honest)

    lost = slash * seats[lazy]  # each of its seats loses its bond, and earns no fee on the losing side
    assert settled.slashed() == {DEV_ADDRESSES[CHEATER]: spec.collateral, lazy: lost}
    assert before.delta(after, lazy) == {"stake": -lost}
    winners = 15 - seats[lazy]
    share, dust = divmod(lost, winners)
    earned = sum(before.delta(after, address).get("balance", 0) for address in honest)
    assert earned == winners * (spec.validator_fee + share) + dust  # fees and the lazy seats' bonds
    asker = DEV_ADDRESSES[REQUESTER]
    # The budget and the losing seats' unpaid fees come back, with the whole collateral.
    assert before.delta(after, asker) == {
        "balance": spec.budget + spec.protocol_fee + seats[lazy] * spec.validator_fee + spec.collateral
    }
    assert before.delta(after, DEV_ADDRESSES[CHEATER]) == {"stake": -spec.collateral}
