"""Appeal a committee round's decision: a fresh, larger committee decides next (3 -> 31 -> 193 seats).

`quote_appeal` reads what the round decided and what the appeal costs: the job is being verified below the
final round, the next block falls in the round's appeal window (the `verifyBlocks` blocks after its vote
window), and the gateway reveals the round's signed votes (`GET /jobs/{id}/votes?round=N`): an appeal must
reveal them, so without them there is nothing to appeal with, and the refusal names what is missing.
`appeal_job` then pays the bond (an approve first when the allowance falls short) and sends the appeal. The
bond comes back when the final round bears the appeal out; otherwise the seats that judged it share it.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

from chain import (
    FINAL_ROUND,
    AppealedJob,
    ContractRevert,
    JobId,
    JobStatus,
    MarketClient,
    Outcome,
    SignedVote,
    VerificationMode,
    Wei,
    appeal_window,
    enum_label,
    round_seats,
)
from crowdcompute.requester.errors import GatewayUnreachable, NotAppealable
from crowdcompute.requester.follow import state_of
from gateway_protocol.votes import VoteRelayError, fetch_votes

__all__ = ["AppealQuote", "appeal_job", "quote_appeal"]

_FIXES = {
    "NotEntitledToAppeal": "only the requester, the provider or a seat whose vote lost the round may appeal",
    "AppealNotOpen": "an appeal is taken only in the appeal window, right after the round's vote window",
    "NoFurtherAppeal": "the final round's decision stands",
}


@dataclass(frozen=True)
class AppealQuote:
    """A round's decision as its revealed votes give it, and what appealing it costs."""

    job_id: JobId
    round: int
    seats: int
    decision: Outcome
    accepts: int
    rejects: int
    votes: tuple[SignedVote, ...]
    bond: Wei
    window: tuple[int, int]
    """The first and last block in which the round may be appealed."""
    next_seats: int

    def to_json(self) -> dict[str, object]:
        return {
            "jobId": self.job_id,
            "round": self.round,
            "seats": self.seats,
            "decision": enum_label(self.decision),
            "accepts": self.accepts,
            "rejects": self.rejects,
            "bond": str(self.bond),
            "appealWindow": {"firstBlock": self.window[0], "lastBlock": self.window[1]},
            "nextSeats": self.next_seats,
        }


def quote_appeal(market: MarketClient, job_id: JobId, gateway_url: str) -> AppealQuote:
    """What job `job_id`'s current round decided and what appealing it costs; raises `NotAppealable` (with
    what is missing) or `GatewayUnreachable`."""
    view = market.job(job_id)
    job = view.job
    if view.status != JobStatus.SUBMITTED:
        raise NotAppealable(f"job {job_id} is {state_of(view)}: only a result being verified can be appealed")
    if job.spec.mode == VerificationMode.NONE:
        raise NotAppealable(f"job {job_id} has no committee (mode none): there is no decision to appeal")
    round_ = job.state.round
    if round_ >= FINAL_ROUND:
        raise NotAppealable(f"job {job_id} is in its final round ({round_}): its decision stands")
    opens, closes = appeal_window(job.state.submit_block, job.spec.verify_blocks)
    head = market.rpc.block_number()
    if head + 1 < opens:
        raise NotAppealable(
            f"job {job_id}: round {round_} is still voting (until block {opens - 1}, now {head}); it may be "
            f"appealed in blocks {opens}..{closes}"
        )
    if head + 1 > closes:
        raise NotAppealable(
            f"job {job_id}: round {round_}'s appeal window closed at block {closes} (now {head}); its "
            "decision stands and `finalize` settles it"
        )
    votes = _revealed(gateway_url, job_id, round_)
    decision = market.round_decision(job_id, votes)
    accepts = sum(1 for vote in votes if vote.approve)
    return AppealQuote(
        job_id=job_id,
        round=round_,
        seats=round_seats(job.spec.committee_size, round_),
        decision=decision,
        accepts=accepts,
        rejects=len(votes) - accepts,
        votes=tuple(votes),
        bond=market.appeal_bond(job_id),
        window=(opens, closes),
        next_seats=round_seats(job.spec.committee_size, round_ + 1),
    )


def appeal_job(market: MarketClient, quote: AppealQuote) -> AppealedJob:
    """Appeal the quoted round with its revealed votes, paying the bond; raises `NotAppealable` when the
    market refuses (the revert decoded, with what to do)."""
    try:
        return market.appeal(quote.job_id, quote.votes)
    except ContractRevert as exc:
        fix = _FIXES.get(exc.error_name)
        message = f"cannot appeal job {quote.job_id}: {exc.message}" + (f"; {fix}" if fix else "")
        raise NotAppealable(message, exc.error_name) from exc


def _revealed(gateway_url: str, job_id: JobId, round_: int) -> list[SignedVote]:
    try:
        votes = fetch_votes(gateway_url, job_id, round_=round_)
    except requests.RequestException as exc:
        raise GatewayUnreachable(
            f"the gateway at {gateway_url} cannot be reached ({exc}): an appeal must reveal round {round_}'s "
            "signed votes, which the gateway relays"
        ) from exc
    except VoteRelayError as exc:
        raise NotAppealable(
            f"the gateway at {gateway_url} does not give job {job_id}'s round-{round_} votes "
            f"({exc.detail or exc}): an appeal must reveal the round's signed votes; "
            "use a gateway that relays this round"
        ) from exc
    if votes is None:
        raise NotAppealable(
            f"the gateway at {gateway_url} has not revealed job {job_id}'s round-{round_} votes yet "
            "(its index may be behind): try again in a few blocks, within the appeal window"
        )
    if not votes:
        raise NotAppealable(
            f"the gateway at {gateway_url} holds no round-{round_} vote of job {job_id}: "
            "an appeal must reveal the round's signed votes, and none were relayed"
        )
    return votes
