"""Settling a unanimous acceptance at once: the requester waives its appeal instead of waiting out the window.

Below the final round a decision stands only after an appeal window. When every seat of the round approved,
no seat lost and the provider won: the requester is the only party left who may appeal, and the market lets it
settle the job itself as soon as the gateway reveals the votes (every seat voted). `accept_unanimous` does
that when the votes are unanimous, and otherwise leaves the job to the window (None).
"""

from __future__ import annotations

import logging

import requests

from chain import ChainError, ContractRevert, FinalizedJob, JobId, JobStatus, MarketClient, round_seats
from gateway_protocol.votes import VoteRelayError, fetch_votes

__all__ = ["accept_unanimous"]

log = logging.getLogger(__name__)


def accept_unanimous(
    market: MarketClient, job_id: JobId, gateway_url: str, timeout_s: float = 5.0
) -> FinalizedJob | None:
    """Finalize `job_id` (posted by `market`'s account) when every seat of its round approved; None while the
    votes are not revealed, when they are not unanimous, or when the job is no longer waiting for them."""
    view = market.job(job_id)
    if view.status != JobStatus.SUBMITTED or view.job.spec.requester.lower() != market.me.lower():
        return None
    round_ = view.job.state.round
    try:
        votes = fetch_votes(gateway_url, job_id, timeout_s, round_=round_)
    except (VoteRelayError, requests.RequestException) as exc:
        log.debug("job %d: the votes cannot be read yet (%s)", job_id, exc)
        return None
    seats = round_seats(view.job.spec.committee_size, round_)
    if votes is None or len(votes) < seats or not all(vote.approve for vote in votes):
        return None  # not revealed, a seat silent, or a rejection: the window decides
    try:
        return market.finalize(job_id, votes)
    except ContractRevert as exc:
        log.info("job %d: the market refused the early acceptance: %s", job_id, exc.message)
    except ChainError as exc:
        log.warning("job %d: the early acceptance could not be sent (%s)", job_id, exc)
    return None
