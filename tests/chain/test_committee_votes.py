"""Committee v2 on anvil: seats drawn from the roster snapshot, signed votes revealed together."""

from __future__ import annotations

import pytest

from chain import (
    ROUND_1_SEATS,
    DevChain,
    Evidence,
    JobId,
    JobStatus,
    MarketClient,
    Outcome,
    dev_account,
    seat_bond,
    tokens,
    vote_digest,
)
from chain.errors import ContractRevert
from tests.chain.market_cast import Cast, make_spec


def test_python_vote_digest_is_the_contracts(cast: Cast) -> None:
    posted = cast.posted_and_submitted()
    job = cast.requester.jobs.job(posted.job_id)
    evidence = Evidence(segment=3, committed_digest=b"\x01" * 32, recomputed_digest=b"\x02" * 32)
    market = cast.requester
    ours = vote_digest(
        market.rpc.chain_id, market.address, posted.job_id, job.state.result_hash, 1, True, evidence
    )
    assert ours == cast.requester.vote_digest(posted.job_id, 1, True, evidence)


def test_snapshot_roster_rebuilt_from_events_matches_the_job(cast: Cast) -> None:
    posted = cast.posted_and_submitted()
    job = cast.requester.jobs.job(posted.job_id)
    assert job.state.roster_root == cast.requester.roster_root()
    roster = cast.requester.roster_of(posted.job_id)
    assert roster.root == job.state.roster_root
    assert {m.validator for m in roster.members()} == {v.me for v in cast.validators}


def test_unanimous_signed_votes_accept_and_pay_every_seat(cast: Cast) -> None:
    posted = cast.posted_and_submitted()
    votes = cast.signed_votes(posted.job_id, [True, True, True])
    DevChain(cast.requester.rpc).mine(2 * make_spec().verify_blocks + 1)  # past the vote and appeal windows
    done = cast.outsider.finalize(posted.job_id, votes)  # anyone may reveal the votes
    assert done.outcome == Outcome.ACCEPTED
    assert (done.accepts, done.rejects) == (3, 0)
    assert done.payment == make_spec().budget


def test_an_appeal_draws_a_larger_committee_that_overturns_a_wrong_rejection(cast: Cast) -> None:
    posted = cast.posted_and_submitted()
    window = make_spec().verify_blocks
    rejections = cast.signed_votes(posted.job_id, [False, False, False])
    chain = DevChain(cast.requester.rpc)
    chain.mine(window + 1)  # the votes are closed: the appeal window is open
    stake_before = cast.provider.account_of().stake
    bond = cast.provider.appeal_bond(posted.job_id)
    assert bond == ROUND_1_SEATS * make_spec().validator_fee
    appealed = cast.provider.appeal(posted.job_id, rejections)
    assert (appealed.round, appealed.bond) == (1, bond)
    assert appealed.job.state.round == 1
    assert appealed.job.state.submit_block == appealed.tx.block_number
    chain.mine(1)  # the new round's seed block
    assert len(cast.requester.committee_of(posted.job_id)) == ROUND_1_SEATS
    approvals = cast.signed_votes(posted.job_id, [True] * ROUND_1_SEATS)
    assert {v.round for v in approvals} == {1}
    with pytest.raises(ContractRevert) as pending:
        cast.outsider.finalize(posted.job_id, approvals)
    assert pending.value.error_name == "VerificationPending"
    chain.mine(2 * window + 1)
    done = cast.outsider.finalize(posted.job_id, approvals)
    assert done.outcome == Outcome.ACCEPTED
    assert (done.accepts, done.rejects) == (ROUND_1_SEATS, 0)
    assert cast.requester.job(posted.job_id).status == JobStatus.CLOSED
    provider = cast.provider.account_of()
    assert provider.stake == stake_before  # never slashed
    assert provider.balance >= make_spec().budget + bond  # paid, and its bond back


def test_a_lone_vote_decides_nothing(cast: Cast) -> None:
    posted = cast.posted_and_submitted()
    votes = cast.signed_votes(posted.job_id, [False, None, None])
    DevChain(cast.requester.rpc).mine(2 * make_spec().verify_blocks + 1)
    done = cast.outsider.finalize(posted.job_id, votes)
    assert done.outcome == Outcome.UNVERIFIED
    assert done.slashed  # the two silent seats lost their bonds


def test_seat_bond_is_the_budget_shared_by_a_rounds_majority_at_least_validator_slash() -> None:
    slash = tokens(10)
    assert seat_bond(tokens(60), 3, 0, slash) == tokens(30)  # 2 seats are round 0's majority
    assert seat_bond(tokens(60), 3, 1, slash) == slash  # 60 / 16 is below the floor
    assert seat_bond(tokens(1_000), 3, 1, slash) == tokens(1_000) // 16  # 31 seats: 16 decide
    assert seat_bond(tokens(1_000), 3, 2, slash) == tokens(1_000) // 97  # 193 seats: 97 decide
    assert seat_bond(10, 5, 0, 1) == 3  # rounded down, as the contract divides
    with pytest.raises(ValueError, match="no seat bond"):
        seat_bond(tokens(60), 0, 0, slash)  # mode none: no committee


def test_each_silent_seat_loses_the_seat_bond_python_computes(cast: Cast) -> None:
    spec = make_spec(budget=tokens(60))  # a seat's share of the budget (30) is above validatorSlash (10)
    posted = cast.posted_and_submitted(spec)
    votes = cast.signed_votes(posted.job_id, [False, None, None])
    DevChain(cast.requester.rpc).mine(2 * spec.verify_blocks + 1)
    done = cast.outsider.finalize(posted.job_id, votes)
    bond = seat_bond(spec.budget, spec.committee_size, 0, cast.requester.config().validator_slash)
    assert bond == tokens(30)
    assert sum(done.slashed.values()) == 2 * bond


def test_a_vote_signed_by_someone_else_is_refused(cast: Cast) -> None:
    posted = cast.posted_and_submitted()
    votes = cast.signed_votes(posted.job_id, [True, True, True])
    outsider = MarketClient.with_account(cast.requester, dev_account(9))
    forged = outsider.sign_vote(JobId(posted.job_id), 0, False)
    forged = type(forged)(**{**forged.__dict__, "validator": votes[0].validator})
    with pytest.raises(ContractRevert, match="InvalidVoteSignature"):
        cast.outsider.finalize(posted.job_id, [forged, *votes[1:]])
