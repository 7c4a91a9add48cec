"""The load bench's arithmetic and bookkeeping (crowdcompute/load/figures.py, bench/load.py's targets):
percentiles, the steady-part throughput, and each job's timeline from post to settlement."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bench.load import met, settings_from
from chain import JobId
from crowdcompute.load import Timelines, figures, percentile, settled_per_minute
from crowdcompute.load.figures import most_open, spread


def test_percentiles_interpolate_between_closest_ranks() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 0.0) == 1.0 and percentile(values, 1.0) == 4.0
    assert percentile(values, 0.5) == pytest.approx(2.5)
    assert percentile(list(range(101)), 0.99) == pytest.approx(99.0)
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) is None
    with pytest.raises(ValueError, match=r"0\.\.1"):
        percentile(values, 99)


def test_a_spread_scales_and_rounds_and_stays_empty_without_values() -> None:
    assert spread([0.001, 0.002, 0.003], scale=1000.0, digits=1) == {
        "min": 1.0,
        "p50": 2.0,
        "p90": 2.8,
        "p99": 3.0,
        "max": 3.0,
    }
    assert set(spread([]).values()) == {None}


def test_the_steady_rate_leaves_out_the_warm_up_and_the_drain() -> None:
    # 100 settlements a minute for a while, with a slow start and a long tail that must not count.
    steady = [10.0 + 0.6 * i for i in range(80)]
    times = [0.0, 5.0, 8.0, *steady, 70.0, 90.0, 120.0, 200.0]
    assert settled_per_minute(steady, trim=0.0) == pytest.approx(100.0)
    assert settled_per_minute(times) == pytest.approx(100.0)
    assert settled_per_minute(times, trim=0.0) < 50.0  # the tail is why the ends are trimmed
    assert settled_per_minute([1.0, 2.0]) is None
    assert settled_per_minute([5.0, 5.0, 5.0]) is None
    with pytest.raises(ValueError, match="one half"):
        settled_per_minute(times, trim=0.5)


def test_a_timeline_keeps_the_first_sighting_of_each_step_and_only_the_jobs_posted() -> None:
    timelines = Timelines()
    one, two, foreign = JobId(1), JobId(2), JobId(9)
    timelines.claimed(one, 1.5)  # read before the poster recorded its receipt: still the same job
    timelines.posted(one, 1.0)
    timelines.claimed(one, 9.0)  # the same event read again
    timelines.submitted(one, 2.0)
    timelines.settled(one, 4.0, "accepted")
    timelines.settled(one, 8.0, "expired")
    timelines.posted(two, 2.0)
    timelines.claimed(foreign, 3.0)  # not ours: never counted
    job = timelines.jobs[one]
    assert (job.post_to_claim_s, job.submit_to_settle_s, job.post_to_settle_s) == (0.5, 2.0, 3.0)
    assert job.outcome == "accepted"
    assert [j.job_id for j in timelines.ours()] == [one, two]
    assert timelines.unsettled() == [two]
    assert timelines.outcomes() == {"accepted": 1, "unsettled": 1}


def test_a_step_seen_in_the_same_read_as_the_one_before_counts_as_no_time() -> None:
    timelines = Timelines()
    timelines.posted(JobId(3), 5.0)
    timelines.claimed(JobId(3), 4.9)
    assert timelines.jobs[JobId(3)].post_to_claim_s == 0.0


def test_figures_come_from_the_posted_jobs_timelines() -> None:
    timelines = Timelines()
    for i in range(50):
        job_id, posted = JobId(i + 1), 0.6 * i
        timelines.posted(job_id, posted)
        timelines.claimed(job_id, posted + 1.0)
        timelines.submitted(job_id, posted + 2.0)
        if i < 48:
            timelines.settled(job_id, posted + 5.0, "accepted" if i % 12 else "rejected")
    result = figures(timelines, post_window_s=30.0)
    assert result["jobs_posted"] == 50 and result["jobs_settled"] == 48 and result["jobs_not_settled"] == 2
    assert result["jobs_accepted"] == 44 and result["outcomes"]["rejected"] == 4
    assert result["offered_jobs_per_min"] == 100.0
    assert result["jobs_per_min"] == pytest.approx(100.0)
    assert result["post_to_claim_p99_s"] == pytest.approx(1.0)
    assert result["submit_to_settle_p50_s"] == pytest.approx(3.0)
    assert result["spreads"]["post_to_settle_s"]["max"] == pytest.approx(5.0)
    assert result["most_open_jobs"] == 9  # 5 s from post to settlement, a post every 0.6 s; 2 never settle


def _args(**given: object) -> argparse.Namespace:
    names = ("jobs", "post_s", "providers", "validators", "drain_s", "verify_blocks", "gateway_rps")
    values: dict[str, object] = dict.fromkeys(names) | {"quick": False, "automine": False}
    return argparse.Namespace(root=Path("/tmp/load"), **(values | given))


def test_the_bench_runs_the_issue_size_by_default_and_a_small_one_with_quick() -> None:
    full = settings_from(_args())
    assert (full.jobs, full.post_s, full.providers, full.validators) == (500, 300.0, 10, 5)
    quick = settings_from(_args(quick=True, jobs=20))
    assert (quick.jobs, quick.post_s, quick.providers, quick.validators) == (20, 30.0, 3, 2)
    assert settings_from(_args(automine=True)).automine


def test_the_targets_are_met_only_with_figures_at_or_within_them() -> None:
    good = {"jobs_per_min": 100.4, "post_to_claim_p99_s": 2.9, "jobs_not_settled": 0}
    assert all(met(good).values())
    assert not met(good | {"jobs_per_min": 99.0})["jobs_per_min"]
    assert not met(good | {"post_to_claim_p99_s": None})["post_to_claim_p99_s"]
    assert not met(good | {"jobs_not_settled": 1})["all_settled"]


def test_the_most_open_jobs_stay_bounded_when_settlement_keeps_pace_and_grow_when_it_does_not() -> None:
    posted = [float(i) for i in range(60)]
    assert most_open(posted, [t + 2.5 for t in posted]) == 3
    assert most_open(posted, [t + 2.0 for t in posted]) == 2  # a settlement at a post's instant goes first
    assert most_open(posted, [2.0 * t for t in posted]) == 30  # settling at half the rate: a growing queue
    assert most_open([], []) == 0
