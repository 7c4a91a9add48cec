"""The load bench's bookkeeping and arithmetic, free of any process: per-job timelines, percentiles, rates.

    timeline = Timelines()
    timeline.posted(JobId(1), 0.0); timeline.claimed(JobId(1), 0.8)
    timeline.submitted(JobId(1), 1.1); timeline.settled(JobId(1), 2.9, "accepted")
    figures(timeline, post_window_s=300.0)["post_to_claim_p99_s"]

Times are seconds on one clock (the bench's monotonic clock from its origin), taken when the bench first
saw each step: the post when its transaction was mined, the others when their event was read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chain import JobId

__all__ = [
    "STEADY_TRIM",
    "JobTimeline",
    "Timelines",
    "figures",
    "most_open",
    "percentile",
    "settled_per_minute",
    "spread",
]

STEADY_TRIM = 0.1
"""The share of settlements left out at each end when measuring throughput: the warm-up and the drain."""


def percentile(values: Sequence[float], q: float) -> float | None:
    """The `q`-quantile (0..1) by linear interpolation between closest ranks; None for no values."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"a quantile lies in 0..1, got {q}")
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def spread(values: Sequence[float], scale: float = 1.0, digits: int = 3) -> dict[str, float | None]:
    """min, p50, p90, p99 and max of `values` times `scale`, rounded (None where there are none)."""

    def at(q: float) -> float | None:
        value = percentile(values, q)
        return None if value is None else round(value * scale, digits)

    return {"min": at(0.0), "p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": at(1.0)}


def settled_per_minute(settle_times: Sequence[float], trim: float = STEADY_TRIM) -> float | None:
    """Jobs settled per minute in the steady part: the settlement times sorted, the first and last `trim`
    of them left out; the rate is (settlements kept - 1) over the time from the first kept to the last
    kept. None with fewer than 3 kept or no time between them."""
    if not 0.0 <= trim < 0.5:
        raise ValueError(f"trim is a share below one half, got {trim}")
    ordered = sorted(settle_times)
    cut = int(len(ordered) * trim)
    kept = ordered[cut : len(ordered) - cut]
    if len(kept) < 3 or kept[-1] <= kept[0]:
        return None
    return (len(kept) - 1) / (kept[-1] - kept[0]) * 60.0


def most_open(posted: Sequence[float], settled: Sequence[float]) -> int:
    """The most jobs posted and not yet settled at any moment: bounded when the market keeps pace with the
    posts, growing with the run when it does not (a settlement at the same instant as a post goes first)."""
    steps = sorted([(t, 1) for t in posted] + [(t, -1) for t in settled], key=lambda step: (step[0], step[1]))
    most = current = 0
    for _, change in steps:
        current += change
        most = max(most, current)
    return most


@dataclass
class JobTimeline:
    """When the bench saw each step of one job (None: not seen)."""

    job_id: JobId
    posted_s: float | None = None
    claimed_s: float | None = None
    submitted_s: float | None = None
    settled_s: float | None = None
    outcome: str | None = None  # "accepted", "rejected", "unverified", "expired" or "cancelled"

    @property
    def post_to_claim_s(self) -> float | None:
        return _between(self.posted_s, self.claimed_s)

    @property
    def submit_to_settle_s(self) -> float | None:
        return _between(self.submitted_s, self.settled_s)

    @property
    def post_to_settle_s(self) -> float | None:
        return _between(self.posted_s, self.settled_s)


def _between(start: float | None, end: float | None) -> float | None:
    # A step read before the one it follows (events of one block, read together) counts as no time.
    return None if start is None or end is None else max(0.0, end - start)


class Timelines:
    """Every job's timeline; the first time a step is seen is the one kept (events may be read twice)."""

    def __init__(self) -> None:
        self.jobs: dict[JobId, JobTimeline] = {}

    def _job(self, job_id: JobId) -> JobTimeline:
        return self.jobs.setdefault(job_id, JobTimeline(job_id))

    def posted(self, job_id: JobId, at: float) -> None:
        job = self._job(job_id)
        job.posted_s = at if job.posted_s is None else min(job.posted_s, at)

    def claimed(self, job_id: JobId, at: float) -> None:
        job = self._job(job_id)
        if job.claimed_s is None:
            job.claimed_s = at

    def submitted(self, job_id: JobId, at: float) -> None:
        job = self._job(job_id)
        if job.submitted_s is None:
            job.submitted_s = at

    def settled(self, job_id: JobId, at: float, outcome: str) -> None:
        job = self._job(job_id)
        if job.settled_s is None:
            job.settled_s, job.outcome = at, outcome

    def ours(self) -> list[JobTimeline]:
        """The jobs this run posted (events of other jobs are ignored), by id."""
        return sorted((j for j in self.jobs.values() if j.posted_s is not None), key=lambda j: j.job_id)

    def unsettled(self) -> list[JobId]:
        return [job.job_id for job in self.ours() if job.settled_s is None]

    def outcomes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for job in self.ours():
            key = job.outcome or "unsettled"
            counts[key] = counts.get(key, 0) + 1
        return counts


def figures(timelines: Timelines, *, post_window_s: float) -> dict[str, Any]:
    """The bench's headline figures from the timelines of the jobs it posted (see bench/load.py)."""
    jobs = timelines.ours()
    claims = [j.post_to_claim_s for j in jobs if j.post_to_claim_s is not None]
    settles = [j.submit_to_settle_s for j in jobs if j.submit_to_settle_s is not None]
    whole = [j.post_to_settle_s for j in jobs if j.post_to_settle_s is not None]
    settled_at = [j.settled_s for j in jobs if j.settled_s is not None]
    claim, settle = spread(claims), spread(settles)
    rate = settled_per_minute(settled_at)
    return {
        "jobs_posted": len(jobs),
        "jobs_settled": len(settled_at),
        "jobs_accepted": sum(1 for j in jobs if j.outcome == "accepted"),
        "jobs_not_settled": len(jobs) - len(settled_at),
        "offered_jobs_per_min": round(len(jobs) / post_window_s * 60.0, 2) if post_window_s > 0 else None,
        "jobs_per_min": None if rate is None else round(rate, 2),
        "post_to_claim_p50_s": claim["p50"],
        "post_to_claim_p99_s": claim["p99"],
        "submit_to_settle_p50_s": settle["p50"],
        "submit_to_settle_p99_s": settle["p99"],
        "post_to_settle_p50_s": spread(whole)["p50"],
        "most_open_jobs": most_open([j.posted_s for j in jobs if j.posted_s is not None], settled_at),
        "spreads": {
            "post_to_claim_s": claim,
            "submit_to_settle_s": settle,
            "post_to_settle_s": spread(whole),
        },
        "outcomes": timelines.outcomes(),
    }
