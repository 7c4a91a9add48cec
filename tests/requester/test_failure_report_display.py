"""How a requester learns that its job's result is a failure report: the revealed votes name it (their
evidence segment is `jobs.failure.FAILURE_SEGMENT`), and `job_summary` / `job status` say so."""

from __future__ import annotations

from chain import VoteReason
from crowdcompute.requester.follow import failure_report_of
from crowdcompute.requester.votes import Ballot
from jobs.failure import FAILURE_SEGMENT


def ballot(slot: int, approve: bool, segment: int = FAILURE_SEGMENT) -> Ballot:
    digest = b"\x01" * 32
    return Ballot(slot, "0x" + "77" * 20, approve, segment, digest, digest, 10, VoteReason.RECOMPUTED)


def test_votes_on_a_failure_report_say_how_many_seats_reproduced_the_failure() -> None:
    assert failure_report_of([ballot(0, True), ballot(1, True), ballot(2, False)]) == {
        "reproduced": 2,
        "refuted": 1,
    }


def test_an_ordinary_result_or_votes_not_revealed_yet_say_nothing() -> None:
    assert failure_report_of([ballot(0, True, segment=3), ballot(1, True, segment=0)]) is None
    assert failure_report_of([]) is None
