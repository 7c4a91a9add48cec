"""The committee's votes on a job, seat by seat, read from the market's `VoteCast` events.

Validators sign their votes off chain and hand them to the gateway, which keeps them private; `finalize`
reveals them all at once, emitting one `VoteCast` per seat that voted. So a job being verified shows no
vote, and a finalized one shows every vote of its current attempt (the events after its `ResultSubmitted`).
Seats that stayed silent have no event.
"""

from __future__ import annotations

from dataclasses import dataclass

from chain import EventReader, JobView, MarketClient, VoteReason, enum_label
from crowdcompute.requester.follow import result_of

__all__ = ["Ballot", "read_ballots"]

_BATCH_BLOCKS = 100_000


@dataclass(frozen=True)
class Ballot:
    """One committee seat's vote, with the evidence the validator recorded."""

    slot: int
    validator: str
    approve: bool
    segment: int
    committed_digest: bytes
    recomputed_digest: bytes
    block_number: int
    reason: VoteReason = VoteReason.RECOMPUTED  # a finding against the provider, or RECOMPUTED

    def to_json(self) -> dict[str, object]:
        return {
            "slot": self.slot,
            "validator": self.validator,
            "vote": "accept" if self.approve else "reject",
            "segment": self.segment,
            "committedDigest": "0x" + self.committed_digest.hex(),
            "recomputedDigest": "0x" + self.recomputed_digest.hex(),
            "reason": enum_label(self.reason),
            "block": self.block_number,
        }


def read_ballots(market: MarketClient, view: JobView) -> tuple[Ballot, ...]:
    """The votes revealed on `view`'s current attempt, by seat; () before its finalize."""
    result = result_of(view)
    if result is None:
        return ()
    reader = EventReader(
        market.rpc,
        market.address,
        market.codec,
        ["VoteCast"],
        start_block=result.block_number,
        batch_blocks=_BATCH_BLOCKS,
        topic_filters=["0x" + int(view.job_id).to_bytes(32, "big").hex()],
    )
    ballots: dict[int, Ballot] = {}
    for event in reader.catch_up():
        args = event.args
        evidence = args["evidence"]
        ballots[int(args["slot"])] = Ballot(
            slot=int(args["slot"]),
            validator=str(args["validator"]),
            approve=bool(args["approve"]),
            segment=int(evidence["segment"]),
            committed_digest=bytes(evidence["committedDigest"]),
            recomputed_digest=bytes(evidence["recomputedDigest"]),
            block_number=event.block_number,
            reason=VoteReason(int(evidence.get("reason", 0))),
        )
    return tuple(ballots[slot] for slot in sorted(ballots))
