"""The jobs this node believes open, from the market's events, with what it has worked out about each.

The set of ids lives in the state file (so a restart that resumes the event reader after its checkpoint
still knows jobs posted before it); specs, attempt numbers, the jobs' own events, verdicts and the reason
last logged live in memory and are rebuilt from the chain when missing.
"""

from __future__ import annotations

import logging
import time

from chain import DecodedLog, JobId, JobNotFound, JobSpec, JobStatus, MarketClient, ReleaseReason
from provider_node.state import StateStore

__all__ = ["OpenJobs"]

log = logging.getLogger(__name__)


class OpenJobs:
    def __init__(self, market: MarketClient, state: StateStore, *, verdict_ttl_s: float) -> None:
        self.market = market
        self.state = state
        self.verdict_ttl_s = verdict_ttl_s
        self.specs: dict[JobId, JobSpec] = {}
        self.attempts: dict[JobId, int] = {}
        self.events: dict[JobId, list[DecodedLog]] = {}
        self.told: dict[JobId, str] = {}
        self.verdicts: dict[JobId, tuple[float, str | None]] = {}
        self.rank_keys: dict[JobId, bytes] = {}

    def apply(self, events: list[DecodedLog]) -> None:
        """Fold a batch of JobPosted / JobReopened / JobClaimed / JobCancelled / ClaimReleased events in, in
        chain order."""
        is_open: dict[JobId, bool] = {}  # the last word of the batch on each job
        for event in events:
            job_id = JobId(int(event.args["jobId"]))
            if event.name == "JobPosted":
                self.specs[job_id] = JobSpec.from_abi(event.args["spec"])
                self.attempts[job_id] = 0
                self.events[job_id] = [event]
                is_open[job_id] = True
            elif (
                event.name == "ClaimReleased" and int(event.args["reason"]) != ReleaseReason.KEY_NOT_RELEASED
            ):
                continue  # a refused key: JobReopened follows (or the job closed)
            elif event.name in ("JobReopened", "ClaimReleased"):  # a free release: open again as it was
                if event.name == "JobReopened":
                    self.attempts[job_id] = int(event.args["attempts"])
                self.events.setdefault(job_id, []).append(event)
                self.told.pop(job_id, None)
                self.verdicts.pop(job_id, None)
                is_open[job_id] = True
            else:
                is_open[job_id] = False
                if event.name == "JobClaimed" and event.args["provider"] != self.market.me:
                    log.debug("job %d: claimed by %s", job_id, event.args["provider"])
        self.state.mark_open(job_id for job_id, still in is_open.items() if still)
        taken = [job_id for job_id, still in is_open.items() if not still]
        self.state.mark_taken(taken)
        for job_id in taken:
            self.forget(job_id)

    def ids(self) -> list[JobId]:
        return self.state.open_jobs()

    def taken(self, job_id: JobId) -> None:
        self.state.mark_taken([job_id])
        self.forget(job_id)

    def forget(self, job_id: JobId) -> None:
        for cache in (self.specs, self.told, self.verdicts, self.rank_keys, self.events):
            cache.pop(job_id, None)

    def spec(self, job_id: JobId) -> JobSpec | None:
        """The spec of a job believed open (read from chain after a restart); None if it is not open."""
        spec = self.specs.get(job_id)
        if spec is not None:
            return spec
        try:
            view = self.market.job(job_id)
        except JobNotFound:
            view = None
        if view is None or view.status != JobStatus.OPEN:
            self.taken(job_id)
            return None
        self.attempts[job_id] = view.job.state.attempts
        self.specs[job_id] = view.job.spec
        return view.job.spec

    def verdict(self, job_id: JobId) -> tuple[bool, str | None]:
        """(known, reason) of the job's lasting verdict, if one was reached recently."""
        cached = self.verdicts.get(job_id)
        if cached is not None and cached[0] > time.monotonic():
            return True, cached[1]
        return False, None

    def judge(self, job_id: JobId, reason: str | None) -> str | None:
        self.verdicts[job_id] = (time.monotonic() + self.verdict_ttl_s, reason)
        return reason

    def tell(self, job_id: JobId, reason: str) -> bool:
        """Whether to log `reason` now: once per kind of reason (its numbers may move, e.g. free stake)."""
        kind = reason.split(":", 1)[0]
        if self.told.get(job_id) == kind:
            return False
        self.told[job_id] = kind
        return True
