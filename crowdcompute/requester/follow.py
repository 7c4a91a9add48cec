"""Following a job on chain: wait for a status, name its state, find its submitted result.

Reads only the chain (`MarketClient.job`), so it works without a gateway.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chain import (
    FINAL_ROUND,
    ZERO_ADDRESS,
    JobId,
    JobStatus,
    JobView,
    MarketClient,
    VerificationMode,
    appeal_window,
    enum_label,
    first_vote_block,
    last_vote_block,
    round_seats,
    seed_block,
)
from crowdcompute.requester.errors import JobEnded, WaitTimeout
from jobs.cid import Cid
from jobs.failure import FAILURE_SEGMENT

if TYPE_CHECKING:
    from crowdcompute.requester.votes import Ballot

__all__ = [
    "ResultRef",
    "failure_report_of",
    "job_summary",
    "result_of",
    "state_of",
    "voting_window",
    "wait_for_status",
]


@dataclass(frozen=True)
class ResultRef:
    """What the provider committed in `submitResult`."""

    cid: Cid
    checkpoint_root: bytes
    checkpoint_count: int
    block_number: int


def state_of(view: JobView) -> str:
    """The job's state as the gateway and dApp name it, derived as the index derives it: the live
    `JobStatus` (Open, Claimed, Submitted), else how it closed: the `Outcome` of its `JobFinalized`
    (Accepted, Rejected, Unverified) or the state its closing event names (`JobCancelled`: Cancelled,
    `JobExpired`: Expired)."""
    if view.status != JobStatus.CLOSED:
        return enum_label(view.status)
    if view.outcome is not None:
        return enum_label(view.outcome)
    if view.closed_by == "ClaimReleased":  # a confidential job's refused key, closed instead of reopened
        return "Released"
    if view.closed_by is not None:
        return view.closed_by.removeprefix("Job")
    return enum_label(view.status)


def result_of(view: JobView) -> ResultRef | None:
    """The result of the job's current attempt: None before a submission, and again after a reopen."""
    found: ResultRef | None = None
    for event in view.events:
        if event.name in ("JobPosted", "JobReopened"):
            found = None
        elif event.name == "ResultSubmitted":
            args = event.args
            found = ResultRef(
                Cid.from_chain(bytes(args["resultDigest"]), int(args["resultCodec"])),
                bytes(args["checkpointRoot"]),
                int(args["checkpointCount"]),
                event.block_number,
            )
    return found


def job_summary(view: JobView, ballots: Sequence[Ballot] = ()) -> dict[str, Any]:
    """The job as one JSON-ready object (amounts as decimal strings of base units); `ballots`
    (`read_ballots`) are listed seat by seat under `votes.seats`."""
    spec, state = view.job.spec, view.job.state
    accepts, rejects = view.votes
    result = result_of(view)
    bundle = Cid.from_chain(spec.bundle_digest, spec.bundle_codec)
    return {
        "jobId": view.job_id,
        "state": state_of(view),
        "requester": spec.requester,
        "provider": None if state.provider == ZERO_ADDRESS else state.provider,
        "bundleCid": str(bundle),
        "budget": str(spec.budget),
        "escrow": str(spec.escrow),
        "collateral": str(spec.collateral),
        "mode": enum_label(spec.mode),
        "committeeSize": spec.committee_size,
        "votes": {"accepts": accepts, "rejects": rejects, "seats": [b.to_json() for b in ballots]},
        "deadline": state.deadline or None,
        "attempts": state.attempts,
        "resultCid": str(result.cid) if result else None,
        "checkpointCount": result.checkpoint_count if result else None,
        "checkpointRoot": "0x" + result.checkpoint_root.hex() if result else None,
        "votingWindow": voting_window(state.submit_block, spec.verify_blocks) if state.submit_block else None,
        "round": state.round,
        "roundSeats": round_seats(spec.committee_size, state.round),
        "appealWindow": (
            dict(
                zip(
                    ("firstBlock", "lastBlock"),
                    appeal_window(state.submit_block, spec.verify_blocks),
                    strict=True,
                )
            )
            if view.status == JobStatus.SUBMITTED
            and spec.mode != VerificationMode.NONE
            and state.round < FINAL_ROUND
            else None
        ),
        "failureReport": failure_report_of(ballots),
    }


def failure_report_of(ballots: Sequence[Ballot]) -> dict[str, int] | None:
    """When the revealed votes judged a failure report (`jobs.failure`: the provider said the job failed by
    its own fault, and the committee re-ran it): how many seats reproduced the failure and how many did not.
    None for an ordinary result, and before the votes are revealed (the chain does not tell the two apart)."""
    judged = [ballot for ballot in ballots if ballot.segment == FAILURE_SEGMENT]
    if not judged:
        return None
    reproduced = sum(ballot.approve for ballot in judged)
    return {"reproduced": reproduced, "refuted": len(judged) - reproduced}


def voting_window(submit_block: int, verify_blocks: int) -> dict[str, int]:
    """The blocks that accept votes on a result submitted in `submit_block`: from the block after the seed
    block (the one after the submission, whose hash seeds the committee) to `seedBlock + verifyBlocks`."""
    return {
        "seedBlock": seed_block(submit_block),
        "firstBlock": first_vote_block(submit_block),
        "lastBlock": last_vote_block(submit_block, verify_blocks),
    }


def wait_for_status(
    market: MarketClient,
    job_id: JobId,
    until: Collection[JobStatus],
    *,
    timeout_s: float,
    poll_s: float = 0.5,
    on_change: Callable[[JobView], None] | None = None,
) -> JobView:
    """Poll the chain until job `job_id`'s status is one of `until`; returns that view.

    `on_change` sees the first view and every later one whose status moved (votes are revealed together
    when the job is finalized, so they move with it). Raises `WaitTimeout`
    (naming the state it stayed in) after `timeout_s`, and `JobEnded` at once when the job closed without
    reaching one of `until` (waiting longer cannot help).
    """
    deadline = time.monotonic() + timeout_s
    seen: tuple[object, ...] | None = None
    while True:
        view = market.job(job_id)
        # Votes are revealed only by finalize, which also closes the job: the status says when they moved.
        key = (view.status, view.votes, view.closed_by, view.job.state.attempts)
        if key != seen:
            seen = key
            if on_change is not None:
                on_change(view)
        if view.status in until:
            return view
        if view.status == JobStatus.CLOSED:
            wanted = " or ".join(enum_label(s) for s in until)
            state = state_of(view)
            raise JobEnded(
                f"job {job_id} was {state} while waiting for {wanted}: it is closed, "
                "waiting longer cannot help",
                state,
            )
        if time.monotonic() >= deadline:
            wanted = ", ".join(enum_label(s) for s in until)
            raise WaitTimeout(
                f"job {job_id} is still {state_of(view)} after {timeout_s:g} s (waiting for {wanted}); "
                "wait longer, or check that providers and validators are running",
                view.status,
            )
        time.sleep(poll_s)
