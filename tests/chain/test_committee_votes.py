"""Committee v2 on anvil: seats drawn from the roster snapshot, signed votes revealed together."""

from __future__ import annotations

import pytest

from chain import DevChain, Evidence, JobId, MarketClient, Outcome, dev_account, vote_digest
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
    done = cast.outsider.finalize(posted.job_id, votes)  # anyone may reveal the votes
    assert done.outcome == Outcome.ACCEPTED
    assert (done.accepts, done.rejects) == (3, 0)
    assert done.payment == make_spec().budget


def test_a_lone_vote_decides_nothing(cast: Cast) -> None:
    posted = cast.posted_and_submitted()
    votes = cast.signed_votes(posted.job_id, [False, None, None])
    DevChain(cast.requester.rpc).mine(make_spec().verify_blocks + 1)
    done = cast.outsider.finalize(posted.job_id, votes)
    assert done.outcome == Outcome.UNVERIFIED
    assert done.slashed  # the two silent seats lost their bonds


def test_a_vote_signed_by_someone_else_is_refused(cast: Cast) -> None:
    posted = cast.posted_and_submitted()
    votes = cast.signed_votes(posted.job_id, [True, True, True])
    outsider = MarketClient.with_account(cast.requester, dev_account(9))
    forged = outsider.sign_vote(JobId(posted.job_id), 0, False)
    forged = type(forged)(**{**forged.__dict__, "validator": votes[0].validator})
    with pytest.raises(ContractRevert, match="InvalidVoteSignature"):
        cast.outsider.finalize(posted.job_id, [forged, *votes[1:]])
