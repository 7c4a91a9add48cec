"""Jobs through the market from Python, against a real anvil: every way a submitted job can end."""

from __future__ import annotations

from collections import Counter

import pytest

from chain import (
    ContractRevert,
    DevChain,
    Evidence,
    JobStatus,
    MarketClient,
    Outcome,
    PayWith,
    Role,
    VerificationMode,
    tokens,
)
from cli_support import token_amount
from tests.chain.market_cast import (
    BASE_SPEC,
    PROVIDER_STAKE,
    RESULT,
    VALIDATOR_STAKE,
    Cast,
    make_spec,
    mine_until_settleable,
)

FEE = BASE_SPEC.validator_fee


def test_accepted_job_pays_provider_validators_and_refunds_unused_fees(
    cast: Cast, dev_chain: DevChain
) -> None:
    requester_tokens = cast.requester.token.balance_of()
    posted = cast.requester.post_job(BASE_SPEC)
    assert posted.job_id == 1
    assert posted.job.spec.requester == cast.requester.me
    assert posted.job.spec.reward == BASE_SPEC.budget // 100  # rewardBps 100
    assert posted.job.spec.protocol_fee == BASE_SPEC.budget // 50  # feeBps 200
    assert cast.requester.token.balance_of() == requester_tokens - BASE_SPEC.escrow
    assert cast.requester.status_of(posted.job_id) == JobStatus.OPEN

    claimed = cast.provider.claim_job(posted.job_id)
    assert claimed.job.state.provider == cast.provider.me
    assert cast.provider.account_of().locked == BASE_SPEC.collateral
    submitted = cast.provider.submit_result(posted.job_id, RESULT)
    assert submitted.job.state.submit_block == submitted.tx.block_number
    assert submitted.job.state.roster_root == cast.requester.roster_root()

    evidence = Evidence(segment=4, committed_digest=b"\x05" * 32, recomputed_digest=b"\x05" * 32)
    dev_chain.mine(1)  # the seed block
    committee = cast.requester.committee_of(posted.job_id)
    first = cast.validator(committee[0]).sign_vote(posted.job_id, 0, True, evidence)
    second = cast.validator(committee[1]).sign_vote(posted.job_id, 1, True)
    assert cast.requester.job(posted.job_id).votes == (0, 0)  # signed off chain: nothing shows yet

    # Two of three is a majority of the committee, but the silent seat may still vote until the window ends.
    dev_chain.mine(2 * BASE_SPEC.verify_blocks)
    mine_until_settleable(cast.outsider, posted.job_id)
    done = cast.outsider.finalize(posted.job_id, [first, second])
    assert (done.outcome, done.accepts, done.rejects, done.reopened) == (Outcome.ACCEPTED, 2, 0, False)
    assert (done.payment, done.reward) == (BASE_SPEC.budget, posted.job.spec.reward)
    revealed = done.events_named("VoteCast")
    assert [(e.args["slot"], e.args["evidence"]["segment"]) for e in revealed] == [(0, 4), (1, 0)]
    bond = cast.deployer.config().validator_slash
    assert done.slashed == {committee[2]: bond}  # the silent seat's bond

    provider = cast.provider.account_of()
    assert (provider.locked, provider.stake) == (0, PROVIDER_STAKE)
    assert (provider.balance, provider.reward_owed) == (BASE_SPEC.budget, posted.job.spec.reward)
    assert cast.requester.account_of().balance == FEE  # the fee of the seat that never voted
    assert cast.requester.status_of(posted.job_id) == JobStatus.CLOSED

    before = cast.provider.token.balance_of()
    paid = cast.provider.withdraw()
    assert (paid.amount, paid.reward) == (BASE_SPEC.budget, posted.job.spec.reward)
    assert cast.provider.token.balance_of() == before + BASE_SPEC.budget + posted.job.spec.reward


def test_optimistic_job_is_accepted_without_votes_after_the_window(cast: Cast, dev_chain: DevChain) -> None:
    spec = make_spec(mode=VerificationMode.NONE, committee_size=0, samples_per_validator=0, validator_fee=0)
    posted = cast.posted_and_submitted(spec)
    dev_chain.mine(2 * spec.verify_blocks + 1)
    pending = cast.outsider.fees_to_burn()
    done = cast.outsider.finalize(posted.job_id)
    assert (done.outcome, done.accepts, done.rejects) == (Outcome.ACCEPTED, 0, 0)
    assert cast.provider.account_of().balance == spec.budget
    # The accepted job's protocol fee is set aside; anyone burns what is pending in one call.
    fee = posted.job.spec.protocol_fee
    assert fee > 0 and cast.outsider.fees_to_burn() == pending + fee
    supply = cast.outsider.token.total_supply()
    assert cast.outsider.burn_fees() == pending + fee
    assert supply - cast.outsider.token.total_supply() == pending + fee
    assert cast.outsider.fees_to_burn() == 0 and cast.outsider.burn_fees() == 0


def test_job_without_votes_outside_optimistic_mode_is_unverified(cast: Cast, dev_chain: DevChain) -> None:
    posted = cast.posted_and_submitted()
    dev_chain.mine(2 * BASE_SPEC.verify_blocks + 1)
    silent = cast.requester.committee_of(posted.job_id)
    done = cast.outsider.finalize(posted.job_id)
    assert (done.outcome, done.payment) == (Outcome.UNVERIFIED, 0)
    bond = cast.deployer.config().validator_slash
    assert sum(done.slashed.values()) == bond * len(silent)  # every seat was silent
    assert cast.provider.me not in done.slashed
    assert cast.provider.account_of().locked == 0
    assert cast.provider.account_of().stake == PROVIDER_STAKE
    # budget, fee and every unused validator fee back; the silent seats' bonds go to the unjudged provider
    assert cast.requester.account_of().balance == BASE_SPEC.escrow
    assert cast.provider.account_of().balance == bond * len(silent)
    assert cast.requester.rewards_remaining() + 0 == cast.deployer.rewards_remaining()


def test_split_vote_without_a_majority_is_unverified(cast: Cast, dev_chain: DevChain) -> None:
    posted = cast.posted_and_submitted()
    votes = cast.signed_votes(posted.job_id, [True, False, None])
    dev_chain.mine(2 * BASE_SPEC.verify_blocks)
    mine_until_settleable(cast.outsider, posted.job_id)
    done = cast.outsider.finalize(posted.job_id, votes)
    assert (done.outcome, done.accepts, done.rejects) == (Outcome.UNVERIFIED, 1, 1)
    assert cast.provider.me not in done.slashed


def test_rejection_by_majority_slashes_provider_and_minority_validator(cast: Cast) -> None:
    posted = cast.posted_and_submitted()
    votes = cast.signed_votes(posted.job_id, [True, False, False])
    committee = cast.requester.committee_of(posted.job_id)
    mine_until_settleable(cast.outsider, posted.job_id)
    done = cast.outsider.finalize(posted.job_id, votes)
    assert (done.outcome, done.accepts, done.rejects, done.reopened) == (Outcome.REJECTED, 1, 2, False)
    slash = cast.deployer.config().validator_slash
    # One validator may hold several seats (drawn by stake, with replacement): expectations add up by holder.
    lost: Counter[str] = Counter({committee[0]: slash})
    earned: Counter[str] = Counter()
    for seat in (1, 2):
        earned[committee[seat]] += FEE + slash // 2
    assert done.slashed == {cast.provider.me: BASE_SPEC.collateral, **lost}

    provider = cast.provider.account_of()
    assert (provider.stake, provider.locked, provider.balance) == (
        PROVIDER_STAKE - BASE_SPEC.collateral,
        0,
        0,
    )
    for holder in set(committee):
        account = cast.deployer.account_of(holder)
        assert (account.stake, account.balance) == (VALIDATOR_STAKE - lost[holder], earned[holder])
    # The requester gets its budget, its protocol fee and the losing seat's unpaid fee back, plus the
    # provider's collateral.
    assert (
        cast.requester.account_of().balance
        == BASE_SPEC.budget + BASE_SPEC.protocol_fee + FEE + BASE_SPEC.collateral
    )
    assert cast.requester.status_of(posted.job_id) == JobStatus.CLOSED


def test_rejected_job_reopens_and_another_provider_finishes_it(cast: Cast) -> None:
    spec = make_spec(reopen_on_failure=True)
    posted = cast.posted_and_submitted(spec)
    mine_until_settleable(cast.outsider, posted.job_id)
    done = cast.outsider.finalize(posted.job_id, cast.signed_votes(posted.job_id, [False, False, False]))
    assert (done.outcome, done.reopened) == (Outcome.REJECTED, True)
    assert done.job is not None and done.job.state.attempts == 1
    assert done.job.state.provider == "0x" + "00" * 20
    # The collateral first restores the three spent fees, the rest compensates the requester.
    assert cast.requester.account_of().balance == spec.collateral - 3 * FEE

    # A client that never saw these events rebuilds the reopened job from the chain.
    fresh = MarketClient(cast.provider_b.rpc, cast.provider_b.deployment, account=cast.provider_b.account)
    view = fresh.job(posted.job_id)
    assert (view.status, view.job) == (JobStatus.OPEN, done.job)
    fresh.claim_job(posted.job_id)
    fresh.submit_result(posted.job_id, RESULT)
    DevChain(cast.requester.rpc).mine(1)  # the seed block
    mine_until_settleable(cast.outsider, posted.job_id)
    accepted = cast.outsider.finalize(posted.job_id, cast.signed_votes(posted.job_id, [True, True, True]))
    assert accepted.outcome == Outcome.ACCEPTED
    assert cast.provider_b.account_of().balance == spec.budget


def test_permits_pay_for_posting_and_staking(cast: Cast) -> None:
    assert cast.requester.token.allowance(cast.requester.me, cast.requester.address) == 0
    posted = cast.requester.post_job_with_permit(BASE_SPEC)
    assert [e.name for e in posted.events] == ["JobPosted"]
    assert cast.requester.status_of(posted.job_id) == JobStatus.OPEN
    assert posted.payment.method == PayWith.PERMIT and posted.payment.approval is None
    staked = cast.outsider.stake(tokens(150), pay=PayWith.PERMIT)
    assert staked.total_stake == tokens(150) and staked.payment.method == PayWith.PERMIT
    assert cast.outsider.token.allowance(cast.outsider.me, cast.outsider.address) == 0  # spent in full
    registered = cast.outsider.register_validator()
    assert registered.index == 5
    assert cast.outsider.account_of().role == Role.VALIDATOR
    assert cast.outsider.validator_count() == len(cast.validators) + 1
    assert cast.outsider.me in {
        m.validator
        for m in cast.outsider.roster_feed.at(
            cast.outsider.roster_root(), cast.outsider.rpc.block_number()
        ).members()
    }


def test_auto_pay_uses_the_standing_allowance_else_a_permit_never_approving_more(cast: Cast) -> None:
    requester, market = cast.requester, cast.requester.address
    escrow = BASE_SPEC.escrow
    requester.token.approve(market, escrow * 2)
    assert requester.payment_method(escrow) == PayWith.ALLOWANCE
    first = requester.post_job(BASE_SPEC)
    assert first.payment.method == PayWith.ALLOWANCE and first.payment.approval is None
    assert requester.token.allowance(requester.me, market) == escrow
    requester.post_job(BASE_SPEC)
    assert requester.token.allowance(requester.me, market) == 0
    # Nothing left: the third post carries a permit for exactly its escrow.
    third = requester.post_job(BASE_SPEC)
    assert third.payment.method == PayWith.PERMIT and third.payment.amount == escrow
    assert requester.token.allowance(requester.me, market) == 0


def test_approve_pays_exactly_the_amount_first_and_reports_the_approve(cast: Cast) -> None:
    staked = cast.outsider.stake(tokens(150), pay=PayWith.APPROVE)
    approval = staked.payment.approval
    assert staked.payment.method == PayWith.APPROVE and approval is not None
    assert approval.gas_used > 0 and approval.block_number <= staked.tx.block_number
    assert staked.payment.gas_used == approval.gas_used
    assert cast.outsider.token.allowance(cast.outsider.me, cast.outsider.address) == 0


def test_a_token_without_permits_is_paid_by_approving_exactly_the_amount(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cast.requester.token, "supports_permit", False)
    assert cast.requester.payment_method(BASE_SPEC.escrow) == PayWith.APPROVE
    posted = cast.requester.post_job(BASE_SPEC)
    assert posted.payment.method == PayWith.APPROVE and posted.payment.approval is not None
    assert cast.requester.token.allowance(cast.requester.me, cast.requester.address) == 0


def test_paying_from_a_missing_allowance_names_the_shortfall_and_the_fix(cast: Cast) -> None:
    with pytest.raises(ContractRevert) as info:
        cast.requester.post_job(BASE_SPEC, pay=PayWith.ALLOWANCE)
    assert info.value.error_name == "ERC20InsufficientAllowance"
    message = str(info.value)
    needed = f"{token_amount(BASE_SPEC.escrow)} needed"
    assert f"is allowed to spend 0 CROWD of the payer's tokens; {needed}" in message
    assert "approve it for at least" in message and "EIP-2612 permit" in message


def test_python_committee_draw_is_proven_by_the_contract(cast: Cast, dev_chain: DevChain) -> None:
    """Seats drawn in Python (by stake, with replacement) are the ones finalize accepts as proven."""
    for committee_size in (1, 3, 5, 7):
        posted = cast.posted_and_submitted(make_spec(committee_size=committee_size))
        dev_chain.mine(1)
        committee = cast.requester.committee_of(posted.job_id)
        assert len(committee) == committee_size
        assert set(committee) <= {v.me for v in cast.validators}
        for validator in cast.validators:
            seats = cast.requester.seats_of(posted.job_id, validator.me)
            assert seats == [seat for seat, who in enumerate(committee) if who == validator.me]
        votes = [
            cast.validator(who).sign_vote(posted.job_id, seat, True) for seat, who in enumerate(committee)
        ]
        mine_until_settleable(cast.outsider, posted.job_id)
        done = cast.outsider.finalize(posted.job_id, votes)  # NotSeatHolder had a seat been drawn wrong
        assert (done.outcome, done.accepts) == (Outcome.ACCEPTED, committee_size)


def test_job_view_rebuilt_from_events_matches_the_word(cast: Cast) -> None:
    posted = cast.posted_and_submitted()
    cast.signed_votes(posted.job_id, [True])
    fresh = MarketClient(cast.requester.rpc, cast.requester.deployment)
    view = fresh.job(posted.job_id)
    assert view.job == cast.provider.job(posted.job_id).job
    assert fresh.hash_job(view.job) == fresh.jobs.hash_job(view.job)
    assert (view.status, view.votes) == (JobStatus.SUBMITTED, (0, 0))  # signed votes stay off chain
    assert [e.name for e in view.events] == ["JobPosted", "JobClaimed", "ResultSubmitted"]
