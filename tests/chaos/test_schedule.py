"""The chaos suite's fault schedule: a seed replays exactly, and a short schedule has every kind."""

from __future__ import annotations

import itertools

import pytest

from crowdcompute.chaos import FAULT_KINDS, fault_schedule


def test_the_same_seed_gives_the_same_schedule_and_another_seed_another() -> None:
    first = fault_schedule(16, faults_s=90, providers=3, validators=5)
    assert first == fault_schedule(16, faults_s=90, providers=3, validators=5)
    assert first != fault_schedule(17, faults_s=90, providers=3, validators=5)


def test_faults_come_every_5_to_15_s_within_the_window_and_hit_real_nodes() -> None:
    schedule = fault_schedule(3, faults_s=300, providers=3, validators=5)
    gaps = [b.at_s - a.at_s for a, b in itertools.pairwise(schedule)]
    assert all(5.0 <= gap <= 15.0 + 0.01 for gap in gaps), gaps
    assert schedule[-1].at_s < 300
    for fault in schedule:
        bound = {"kill_provider": 3, "fill_disk": 3, "kill_validator": 5}.get(fault.kind, 1)
        assert 0 <= fault.target < bound
    cuts = [f.duration_s for f in schedule if f.kind == "cut_rpc"]
    assert cuts and all(2.0 <= d <= 10.0 for d in cuts)


def test_every_kind_occurs_once_before_any_occurs_twice() -> None:
    for seed in range(20):
        schedule = fault_schedule(seed, faults_s=40, providers=2, validators=3, gap_s=(4.0, 6.0))
        assert sorted(f.kind for f in schedule[: len(FAULT_KINDS)]) == sorted(FAULT_KINDS), seed


def test_a_schedule_without_nodes_to_hit_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one provider and one validator"):
        fault_schedule(1, faults_s=30, providers=0, validators=3)
