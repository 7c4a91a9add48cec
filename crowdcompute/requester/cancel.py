"""Cancel an open job and take its escrow back; a job that cannot be cancelled is named in the user's terms.

The job is read first, so a refusal names the state the requester sees ("job 3 is Accepted: only an Open job
can be cancelled") instead of the contract's; the market's own refusal (a race with a claim) is decoded the
same way.
"""

from __future__ import annotations

from chain import CancelledJob, ContractRevert, JobId, JobStatus, MarketClient, enum_label
from crowdcompute.requester.errors import NotCancellable
from crowdcompute.requester.follow import state_of

__all__ = ["cancel_job"]

_OPEN = enum_label(JobStatus.OPEN)
_FIXES = {
    "NotJobRequester": "only the account that posted a job can cancel it; use that account's key",
    "JobNotInStatus": f"only an {_OPEN} job can be cancelled",
}
_WHY_NOT = {
    JobStatus.CLAIMED: " (a claimed job is run, then verified or expired; its escrow settles then)",
    JobStatus.SUBMITTED: " (its result is being verified; the escrow settles when it is finalized)",
}


def cancel_job(market: MarketClient, job_id: JobId) -> CancelledJob:
    """Cancel job `job_id` as the market client's account; raises `NotCancellable` when refused."""
    _check_open(market, job_id)
    try:
        return market.cancel_job(job_id)
    except ContractRevert as exc:
        if exc.error_name == "JobNotInStatus":
            _check_open(market, job_id)  # claimed meanwhile: say so in the same words
        fix = _FIXES.get(exc.error_name)
        if fix is None:
            raise
        raise NotCancellable(f"cannot cancel job {job_id}: {exc.message}; {fix}", exc.error_name) from exc


def _check_open(market: MarketClient, job_id: JobId) -> None:
    view = market.job(job_id)
    if view.status != JobStatus.OPEN:
        why_not = _WHY_NOT.get(view.status, "")
        raise NotCancellable(
            f"job {job_id} is {state_of(view)}: only an {_OPEN} job can be cancelled{why_not}",
            "JobNotInStatus",
        )
