"""The segment numbers that stand for a finding instead of a compared segment never collide: each one names
exactly one VoteReason (or the failure report's segment), so a vote's evidence reads one way only."""

from __future__ import annotations

from chain import VoteReason
from jobs.failure import FAILURE_SEGMENT
from validator import verdict


def test_every_sentinel_segment_is_distinct_and_names_its_finding() -> None:
    sentinels = {
        verdict.WITHHELD: VoteReason.RESULT_WITHHELD,
        verdict.BAD_COMMITMENT: VoteReason.BAD_COMMITMENT,
        verdict.EXCEEDED_RESOURCES: VoteReason.EXCEEDS_DECLARED_RESOURCES,
        verdict.KEY_WITHHELD: VoteReason.KEY_WITHHELD,
    }
    assert len(sentinels) == 4 and FAILURE_SEGMENT not in sentinels
    for segment, reason in sentinels.items():
        found = verdict.reject("finding", segment, b"\x01" * 32)
        assert (found.evidence.segment, found.evidence.reason) == (segment, reason)
