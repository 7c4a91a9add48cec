"""Cancel an open job and take its escrow back; the market's refusal arrives decoded, with what to do."""

from __future__ import annotations

from chain import CancelledJob, ContractRevert, JobId, MarketClient
from crowdcompute.requester.errors import NotCancellable

__all__ = ["cancel_job"]

_FIXES = {
    "NotJobRequester": "only the account that posted a job can cancel it; use that account's key",
    "JobNotInStatus": "only an Open job can be cancelled (a claimed job finishes or expires)",
}


def cancel_job(market: MarketClient, job_id: JobId) -> CancelledJob:
    """Cancel job `job_id` as the market client's account; raises `NotCancellable` when refused."""
    try:
        return market.cancel_job(job_id)
    except ContractRevert as exc:
        fix = _FIXES.get(exc.error_name)
        if fix is None:
            raise
        raise NotCancellable(f"cannot cancel job {job_id}: {exc.message}; {fix}", exc.error_name) from exc
