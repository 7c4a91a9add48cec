"""Every way the market refuses a call, seen from Python: the decoded error, its fields and its message."""

from __future__ import annotations

import dataclasses

import pytest

from chain import (
    Capabilities,
    Capability,
    ContractRevert,
    DevChain,
    JobSpecField,
    JobStatus,
    Outcome,
    Role,
    tokens,
)
from tests.chain.market_cast import (
    BASE_SPEC,
    PROVIDER_CAPS,
    PROVIDER_STAKE,
    RESULT,
    VALIDATOR_STAKE,
    Cast,
    make_spec,
)


def reverts(name: str) -> pytest.RaisesExc[ContractRevert]:
    """Expect a ContractRevert with this custom error name."""
    return pytest.raises(ContractRevert, check=lambda e: e.error_name == name)


def test_requester_cancels_an_open_job_and_is_refunded_at_once(cast: Cast) -> None:
    before = cast.requester.token.balance_of()
    posted = cast.requester.post_job(BASE_SPEC)
    cancelled = cast.requester.cancel_job(posted.job_id)
    assert cancelled.refund == BASE_SPEC.escrow
    assert cast.requester.token.balance_of() == before
    assert cast.requester.status_of(posted.job_id) == JobStatus.CLOSED
    view = cast.outsider.job(posted.job_id)
    assert (view.status, view.closed_by) == (JobStatus.CLOSED, "JobCancelled")


def test_only_the_requester_may_cancel(cast: Cast) -> None:
    posted = cast.requester.post_job(BASE_SPEC)
    with reverts("NotJobRequester") as info:
        cast.outsider.cancel_job(posted.job_id)
    assert info.value.fields["requester"] == cast.requester.me
    assert "only job 1's requester" in str(info.value)


def test_a_claimed_job_cannot_be_cancelled(cast: Cast) -> None:
    posted = cast.requester.post_job(BASE_SPEC)
    cast.provider.claim_job(posted.job_id)
    with reverts("JobNotInStatus") as info:
        cast.requester.cancel_job(posted.job_id)
    assert info.value.fields == {"jobId": 1, "actual": JobStatus.CLAIMED, "expected": JobStatus.OPEN}
    assert str(info.value) == "job 1 is Claimed, not Open"


def test_expired_job_slashes_collateral_and_reopens(cast: Cast, dev_chain: DevChain) -> None:
    spec = make_spec(reopen_on_failure=True)
    posted = cast.requester.post_job(spec)
    claimed = cast.provider.claim_job(posted.job_id)
    with reverts("DeadlineNotReached") as early:
        cast.outsider.expire_job(posted.job_id)
    assert early.value.fields["deadline"] == claimed.job.state.deadline

    dev_chain.increase_time(spec.run_timeout + 1)
    with reverts("SubmitDeadlinePassed"):
        cast.provider.submit_result(posted.job_id, RESULT)
    expired = cast.outsider.expire_job(posted.job_id)
    assert (expired.provider, expired.slashed, expired.reopened) == (cast.provider.me, spec.collateral, True)
    assert expired.job is not None and expired.job.state.attempts == 1
    assert cast.provider.account_of().stake == PROVIDER_STAKE - spec.collateral
    assert cast.requester.account_of().balance == spec.collateral

    cast.provider_b.claim_job(posted.job_id)
    assert cast.outsider.job(posted.job_id).job.state.provider == cast.provider_b.me


def test_expired_job_without_reopening_refunds_the_requester(cast: Cast, dev_chain: DevChain) -> None:
    posted = cast.requester.post_job(BASE_SPEC)
    cast.provider.claim_job(posted.job_id)
    dev_chain.increase_time(BASE_SPEC.run_timeout + 1)
    expired = cast.outsider.expire_job(posted.job_id)
    assert (expired.reopened, expired.job) == (False, None)
    assert cast.requester.account_of().balance == BASE_SPEC.escrow + BASE_SPEC.collateral
    assert cast.outsider.job(posted.job_id).closed_by == "JobExpired"


def test_seed_is_unreadable_until_the_block_after_the_submission(cast: Cast, dev_chain: DevChain) -> None:
    posted = cast.requester.post_job(BASE_SPEC)
    cast.provider.claim_job(posted.job_id)
    cast.provider.submit_result(posted.job_id, RESULT)
    with reverts("SeedUnavailable") as info:
        cast.requester.seed_of(posted.job_id)
    assert info.value.fields["seedBlock"] == cast.requester.job(posted.job_id).job.state.submit_block + 1
    dev_chain.mine(1)
    assert len(cast.requester.seed_of(posted.job_id)) == 32


def test_a_vote_by_a_validator_off_the_committee_counts_as_silent(cast: Cast, dev_chain: DevChain) -> None:
    posted = cast.posted_and_submitted()
    votes = cast.signed_votes(posted.job_id, [True, True, None])
    committee = cast.requester.committee_of(posted.job_id)
    outsider = next(v for v in cast.validators if v.me not in committee)  # 3 seats, 5 validators
    assert cast.requester.seats_of(posted.job_id, outsider.me) == []
    forged = outsider.sign_vote(posted.job_id, 2, False)
    dev_chain.mine(2 * BASE_SPEC.verify_blocks)
    done = cast.outsider.finalize(posted.job_id, [*votes, forged])
    assert (done.outcome, done.accepts, done.rejects) == (Outcome.ACCEPTED, 2, 0)
    assert outsider.me not in {e.args["validator"] for e in done.events_named("VoteCast")}


def test_finalize_waits_for_every_seat_or_the_window(cast: Cast, dev_chain: DevChain) -> None:
    posted = cast.posted_and_submitted()
    votes = cast.signed_votes(posted.job_id, [True, True, None])  # a majority, but a seat may still vote
    with reverts("VerificationPending") as info:
        cast.outsider.finalize(posted.job_id, votes)
    assert "can be finalized after block" in str(info.value)
    dev_chain.mine(2 * BASE_SPEC.verify_blocks)
    assert cast.outsider.finalize(posted.job_id, votes).outcome == Outcome.ACCEPTED


def test_capability_shortfall_names_the_capability(cast: Cast) -> None:
    posted = cast.requester.post_job(make_spec(gpu_memory_mib=16384))
    with reverts("ProviderLacksCapability") as info:
        cast.provider.claim_job(posted.job_id)
    assert info.value.fields["capability"] == Capability.GPU_MEMORY
    assert (info.value.fields["required"], info.value.fields["offered"]) == (16384, 8192)
    short = cast.provider.me[:6] + "…" + cast.provider.me[-4:]
    assert str(info.value) == f"job 1 needs 16384 MiB of GPU memory; provider {short} offers 8192"


def test_collateral_beyond_free_stake_is_refused(cast: Cast) -> None:
    posted = cast.requester.post_job(make_spec(collateral=PROVIDER_STAKE + tokens(1)))
    with reverts("InsufficientFreeStake") as info:
        cast.provider.claim_job(posted.job_id)
    assert info.value.fields["available"] == PROVIDER_STAKE
    assert str(info.value).endswith("has 1000 CROWD of free stake; 1001 CROWD needed")


def test_provider_below_minimum_stake_cannot_claim(cast: Cast) -> None:
    cast.outsider.register_provider(PROVIDER_CAPS)
    cast.outsider.stake(tokens(60))
    posted = cast.requester.post_job(BASE_SPEC)
    with reverts("StakeBelowMinimum") as info:
        cast.outsider.claim_job(posted.job_id)
    assert str(info.value).endswith("has 60 CROWD staked; the minimum is 100 CROWD")


def test_unregistered_account_and_requester_cannot_claim(cast: Cast) -> None:
    posted = cast.requester.post_job(BASE_SPEC)
    with reverts("AccountNotInRole") as info:
        cast.outsider.claim_job(posted.job_id)
    assert info.value.fields["actual"] == Role.NONE
    cast.requester.register_provider(Capabilities(1, 8192, 1, 8, 16384))
    cast.requester.stake(tokens(100))
    with reverts("RequesterCannotClaim"):
        cast.requester.claim_job(posted.job_id)


def test_invalid_spec_names_the_field(cast: Cast) -> None:
    with reverts("InvalidJobSpec") as info:
        cast.requester.post_job(make_spec(committee_size=17))
    assert info.value.fields["field"] == JobSpecField.COMMITTEE_SIZE
    assert str(info.value) == "invalid job spec: CommitteeSize is 17; the limit is 15"
    with reverts("InvalidJobSpec") as info:  # even sizes could tie
        cast.requester.post_job(make_spec(committee_size=4))
    assert info.value.fields["field"] == JobSpecField.COMMITTEE_SIZE


def test_stale_job_data_is_refused(cast: Cast) -> None:
    posted = cast.requester.post_job(BASE_SPEC)
    stale = dataclasses.replace(posted.job, spec=dataclasses.replace(posted.job.spec, budget=tokens(1)))
    with reverts("JobDataMismatch"):
        cast.provider.transact("claimJob", posted.job_id, stale.to_abi())


def test_roles_are_exclusive_and_validators_register_once(cast: Cast) -> None:
    with reverts("RoleAlreadyAssigned"):
        cast.provider.register_validator()
    with reverts("ValidatorAlreadyRegistered") as info:
        cast.validators[0].register_validator()
    assert info.value.fields["validator"] == cast.validators[0].me


def test_unbonding_waits_for_the_delay(cast: Cast, dev_chain: DevChain) -> None:
    validator = cast.validators[0]
    with reverts("InsufficientFreeStake"):
        validator.request_unbond(VALIDATOR_STAKE + 1)
    with reverts("NothingUnbonding"):
        validator.withdraw_unbonded()
    request = validator.request_unbond(tokens(50))
    assert request.release_at == dev_chain.timestamp() + cast.deployer.config().unbonding_delay
    account = validator.account_of()
    assert (account.stake, account.unbonding) == (VALIDATOR_STAKE - tokens(50), tokens(50))
    with reverts("UnbondingLocked") as info:
        validator.withdraw_unbonded()
    assert info.value.fields["releaseAt"] == request.release_at

    dev_chain.increase_time(cast.deployer.config().unbonding_delay)
    before = validator.token.balance_of()
    withdrawn = validator.withdraw_unbonded()
    assert withdrawn.amount == tokens(50)
    assert validator.token.balance_of() == before + tokens(50)
    assert validator.account_of().unbonding == 0


def test_locked_collateral_cannot_be_unbonded(cast: Cast) -> None:
    posted = cast.requester.post_job(make_spec(collateral=tokens(950)))
    cast.provider.claim_job(posted.job_id)
    with reverts("InsufficientFreeStake") as info:
        cast.provider.request_unbond(tokens(100))
    assert info.value.fields["available"] == tokens(50)


def test_nothing_to_withdraw_and_zero_amounts(cast: Cast) -> None:
    with reverts("NothingToWithdraw"):
        cast.outsider.withdraw()
    with reverts("ZeroAmount"):
        cast.outsider.stake(0)


def test_post_without_enough_tokens_names_the_shortfall(cast: Cast) -> None:
    with reverts("ERC20InsufficientBalance") as info:
        cast.requester.post_job(make_spec(budget=tokens(20_000), collateral=tokens(20_000)))
    assert "holds 10000 CROWD" in str(info.value)
