"""Following a job to its committee's verdict, and settling a unanimous acceptance the moment it is revealed.

`crowdcompute job accept <id> --wait` is the requester who stays at the terminal: the job is claimed, run,
submitted and voted on; as soon as the gateway reveals the votes and every seat approved, the requester waives
its appeal and settles (`accept_unanimous`). A split or rejecting committee is not the requester's to settle:
the wait ends with the votes in words and the job is left to its appeal window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from chain import FinalizedJob, JobId, JobStatus, JobView, MarketClient, round_seats
from crowdcompute.requester.accept import accept_unanimous
from crowdcompute.requester.errors import RequesterError
from crowdcompute.requester.follow import state_of
from gateway_protocol.votes import VoteRelayError, fetch_votes

__all__ = ["AcceptWait", "NotUnanimous", "wait_and_accept"]


class NotUnanimous(RequesterError):
    """The committee's revealed votes are not a unanimous acceptance: the appeal window decides."""


@dataclass(frozen=True)
class AcceptWait:
    """How the wait ended: `finalized` when this call settled the job, else the job closed on its own."""

    job_id: JobId
    state: str
    finalized: FinalizedJob | None


def wait_and_accept(
    market: MarketClient,
    job_id: JobId,
    gateway_url: str,
    *,
    timeout_s: float,
    poll_s: float = 0.5,
    on_state: Callable[[str], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> AcceptWait:
    """Wait until `job_id` (posted by `market`'s account) has its votes revealed, then settle it when every
    seat approved. Returns at once when the job is already closed. Raises `NotUnanimous` when the revealed
    votes are not all approvals, `RequesterError` when the job is not the caller's or on timeout."""
    deadline = clock() + timeout_s
    seen = ""
    while True:
        view = market.job(job_id)
        if view.job.spec.requester.lower() != market.me.lower():
            raise RequesterError(
                f"job {job_id} was posted by {view.job.spec.requester}, not by this account ({market.me}): "
                "only its requester can accept it early"
            )
        state = state_of(view)
        if state != seen and on_state is not None:
            on_state(state)
        seen = state
        if view.status == JobStatus.CLOSED:
            return AcceptWait(job_id, state, None)
        if view.status == JobStatus.SUBMITTED and _revealed_unanimous(view, job_id, gateway_url):
            done = accept_unanimous(market, job_id, gateway_url)
            if done is not None:
                return AcceptWait(job_id, "Accepted", done)
        if clock() >= deadline:
            raise RequesterError(
                f"job {job_id} is still {state} after {timeout_s:g} s; wait longer (`--timeout`) or "
                f"follow it with `crowdcompute job status {job_id}`"
            )
        sleep(poll_s)


def _revealed_unanimous(view: JobView, job_id: JobId, gateway_url: str) -> bool:
    """True when the round's votes are revealed and all approve; False while they are not revealed yet."""
    round_ = view.job.state.round
    try:
        votes = fetch_votes(gateway_url, job_id, round_=round_)
    except (VoteRelayError, requests.RequestException):
        return False  # not indexed yet, or the gateway is restarting: ask again
    seats = round_seats(view.job.spec.committee_size, round_)
    if votes is None or len(votes) < seats:
        return False
    rejects = sum(1 for vote in votes if not vote.approve)
    if rejects:
        raise NotUnanimous(
            f"job {job_id}: {rejects} of {len(votes)} seats of round {round_} rejected the result, so it is "
            "not yours to settle early; it settles after its appeal window "
            f"(`crowdcompute job status {job_id}`)"
        )
    return True
