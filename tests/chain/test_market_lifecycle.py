"""Jobs through the market from Python, against a real anvil: every way a submitted job can end."""

from __future__ import annotations

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
    seed_of,
    tokens,
)
from cli_support import token_amount
from tests.chain.market_cast import BASE_SPEC, PROVIDER_STAKE, RESULT, VALIDATOR_STAKE, Cast, make_spec

FEE = BASE_SPEC.validator_fee


def test_accepted_job_pays_provider_validators_and_refunds_unused_fees(cast: Cast) -> None:
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
    assert submitted.job.state.validator_count == 5
    DevChain(cast.requester.rpc).mine(1)  # the seed block: the committee is drawn from its hash

    evidence = Evidence(segment=4, committed_digest=b"\x05" * 32, recomputed_digest=b"\x05" * 32)
    committee = cast.requester.predict_committee(posted.job_id)
    first = cast.validator(committee[0]).vote(posted.job_id, True, evidence)
    assert (first.slot, first.fee) == (0, FEE)
    assert first.events_named("VoteCast")[0].args["evidence"]["segment"] == 4
    second = cast.validator(committee[1]).vote(posted.job_id, True)
    assert second.slot == 1
    assert cast.requester.job(posted.job_id).votes == (2, 0)

    # Two of three is a strict majority: no need to wait for the window.
    done = cast.outsider.finalize(posted.job_id)
    assert (done.outcome, done.accepts, done.rejects, done.reopened) == (Outcome.ACCEPTED, 2, 0, False)
    assert (done.payment, done.reward) == (BASE_SPEC.budget, posted.job.spec.reward)
    assert done.slashed == {}

    provider = cast.provider.account_of()
    assert (provider.locked, provider.stake) == (0, PROVIDER_STAKE)
    assert (provider.balance, provider.reward_owed) == (BASE_SPEC.budget, posted.job.spec.reward)
    assert cast.requester.account_of().balance == FEE  # the slot that never voted
    assert cast.validator(committee[0]).account_of().balance == FEE
    assert cast.requester.status_of(posted.job_id) == JobStatus.CLOSED

    before = cast.provider.token.balance_of()
    paid = cast.provider.withdraw()
    assert (paid.amount, paid.reward) == (BASE_SPEC.budget, posted.job.spec.reward)
    assert cast.provider.token.balance_of() == before + BASE_SPEC.budget + posted.job.spec.reward


def test_optimistic_job_is_accepted_without_votes_after_the_window(cast: Cast, dev_chain: DevChain) -> None:
    spec = make_spec(mode=VerificationMode.NONE, committee_size=0, samples_per_validator=0, validator_fee=0)
    posted = cast.posted_and_submitted(spec)
    dev_chain.mine(spec.verify_blocks)
    done = cast.outsider.finalize(posted.job_id)
    assert (done.outcome, done.accepts, done.rejects) == (Outcome.ACCEPTED, 0, 0)
    assert cast.provider.account_of().balance == spec.budget


def test_job_without_votes_outside_optimistic_mode_is_unverified(cast: Cast, dev_chain: DevChain) -> None:
    posted = cast.posted_and_submitted()
    dev_chain.mine(BASE_SPEC.verify_blocks)
    done = cast.outsider.finalize(posted.job_id)
    assert (done.outcome, done.payment, done.slashed) == (Outcome.UNVERIFIED, 0, {})
    assert cast.provider.account_of().locked == 0
    assert cast.provider.account_of().stake == PROVIDER_STAKE
    assert cast.requester.account_of().balance == BASE_SPEC.escrow  # budget + every unused fee
    assert cast.requester.rewards_remaining() + 0 == cast.deployer.rewards_remaining()


def test_tied_vote_is_unverified_and_slashes_nobody(cast: Cast, dev_chain: DevChain) -> None:
    spec = make_spec(committee_size=2)
    posted = cast.posted_and_submitted(spec)
    committee, _ = cast.vote_in_order(posted.job_id, [True, False])
    dev_chain.mine(spec.verify_blocks)
    done = cast.outsider.finalize(posted.job_id)
    assert (done.outcome, done.accepts, done.rejects, done.slashed) == (Outcome.UNVERIFIED, 1, 1, {})
    for address in committee:
        assert cast.deployer.account_of(address).stake == VALIDATOR_STAKE


def test_rejection_by_majority_slashes_provider_and_minority_validator(cast: Cast) -> None:
    posted = cast.posted_and_submitted()
    committee, _ = cast.vote_in_order(posted.job_id, [True, False, False])
    done = cast.outsider.finalize(posted.job_id)
    assert (done.outcome, done.accepts, done.rejects, done.reopened) == (Outcome.REJECTED, 1, 2, False)
    slash = cast.deployer.config().validator_slash
    assert done.slashed == {cast.provider.me: BASE_SPEC.collateral, committee[0]: slash}

    provider = cast.provider.account_of()
    assert (provider.stake, provider.locked, provider.balance) == (
        PROVIDER_STAKE - BASE_SPEC.collateral,
        0,
        0,
    )
    loser = cast.deployer.account_of(committee[0])
    assert (loser.stake, loser.balance) == (VALIDATOR_STAKE - slash, FEE)
    for winner in committee[1:]:
        assert cast.deployer.account_of(winner).balance == FEE + slash // 2
    # The requester gets its budget and protocol fee back (every validator fee was spent on votes) plus the
    # provider's collateral.
    assert (
        cast.requester.account_of().balance
        == BASE_SPEC.budget + BASE_SPEC.protocol_fee + BASE_SPEC.collateral
    )
    assert cast.requester.status_of(posted.job_id) == JobStatus.CLOSED


def test_rejected_job_reopens_and_another_provider_finishes_it(cast: Cast) -> None:
    spec = make_spec(reopen_on_failure=True)
    posted = cast.posted_and_submitted(spec)
    cast.vote_in_order(posted.job_id, [False, False])
    done = cast.outsider.finalize(posted.job_id)
    assert (done.outcome, done.reopened) == (Outcome.REJECTED, True)
    assert done.job is not None and done.job.state.attempts == 1
    assert done.job.state.provider == "0x" + "00" * 20
    # The collateral first restores the two spent fees, the rest compensates the requester.
    assert cast.requester.account_of().balance == spec.collateral - 2 * FEE

    # A client that never saw these events rebuilds the reopened job from the chain.
    fresh = MarketClient(cast.provider_b.rpc, cast.provider_b.deployment, account=cast.provider_b.account)
    view = fresh.job(posted.job_id)
    assert (view.status, view.job) == (JobStatus.OPEN, done.job)
    fresh.claim_job(posted.job_id)
    fresh.submit_result(posted.job_id, RESULT)
    DevChain(cast.requester.rpc).mine(1)  # the seed block
    cast.vote_in_order(posted.job_id, [True, True])
    accepted = cast.outsider.finalize(posted.job_id)
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
    assert cast.outsider.validators()[-1] == cast.outsider.me


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


def test_python_committee_draw_matches_the_contract(cast: Cast) -> None:
    for committee_size in (1, 3, 5, 8):
        posted = cast.posted_and_submitted(make_spec(committee_size=committee_size))
        predicted = cast.requester.predict_committee(posted.job_id)
        assert predicted == cast.requester.committee_of(posted.job_id)
        assert len(predicted) == min(committee_size, 5) == len(set(predicted))
        submit_block = cast.requester.job(posted.job_id).job.state.submit_block
        next_hash = bytes.fromhex(cast.requester.rpc.get_block(submit_block + 1)["hash"][2:])
        assert seed_of(next_hash, posted.job_id) == cast.requester.seed_of(posted.job_id)
        own_hash = bytes.fromhex(cast.requester.rpc.get_block(submit_block)["hash"][2:])
        assert seed_of(own_hash, posted.job_id) != cast.requester.seed_of(posted.job_id)


def test_job_view_rebuilt_from_events_matches_the_word(cast: Cast) -> None:
    posted = cast.posted_and_submitted()
    cast.vote_in_order(posted.job_id, [True])
    fresh = MarketClient(cast.requester.rpc, cast.requester.deployment)
    view = fresh.job(posted.job_id)
    assert view.job == cast.provider.job(posted.job_id).job
    assert fresh.hash_job(view.job) == fresh.jobs.hash_job(view.job)
    assert (view.status, view.votes) == (JobStatus.SUBMITTED, (1, 0))
    assert [e.name for e in view.events] == ["JobPosted", "JobClaimed", "ResultSubmitted", "VoteCast"]
