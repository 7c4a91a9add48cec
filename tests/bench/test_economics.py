"""The pure parts of bench/economics.py: the binomial capture curve, the exact P(caught) and the EV formulas.
(The script itself runs against anvil; these keep its arithmetic from breaking silently.)"""

from __future__ import annotations

import itertools
import math

import pytest

from bench.economics import (
    blind_attack_ev,
    capture_pair_ev,
    capture_share,
    caught_probability,
    cheat_ev,
    crossing,
    informed_capture_ev,
    majority_probability,
)


@pytest.mark.parametrize("share", [0.0, 0.1, 0.3, 0.5, 0.7, 1.0])
def test_majority_of_three_is_the_binomial_tail(share: float) -> None:
    assert majority_probability(share, 3) == pytest.approx(3 * share**2 - 2 * share**3)


def test_capture_share_of_an_odd_committee_is_one_half() -> None:
    for size in (1, 3, 5, 7):
        assert capture_share(0.5, size) == pytest.approx(0.5, abs=1e-9)


def test_crossing_interpolates_the_first_point_reaching_the_target() -> None:
    points = [(0.3, 0.2), (0.4, 0.4), (0.5, 0.6), (0.6, 0.4)]
    assert crossing(points, 0.5) == pytest.approx(0.45)
    assert crossing(points, 0.9) is None
    assert crossing([(0.1, 0.7)], 0.5) == pytest.approx(0.1)


def test_cheat_ev_is_the_compute_saved_less_what_a_rejection_takes() -> None:
    assert cheat_ev(0.0, 0.0, 10, 0.1, 5) == 0
    assert cheat_ev(0.1, 0.0, 10, 0.1, 5) == pytest.approx(1.0)
    assert cheat_ev(1.0, 1.0, 10, 0.1, 5) == pytest.approx(10 - 15.1)
    assert cheat_ev(0.2, 0.5, 10, 0.1, 5) == pytest.approx(2 - 0.5 * 15.1)


def _brute_force(
    samples: dict[str, frozenset[int]], seats: list[str], population: int, skipped: int
) -> float:
    rejected = total = 0
    for chosen in itertools.combinations(range(population), skipped):
        skip = set(chosen)
        catching = sum(bool(samples[h] & skip) for h in seats)
        rejected += catching * 2 > len(seats)
        total += 1
    return rejected / total


@pytest.mark.parametrize("skipped", [0, 1, 2, 3, 7])
def test_caught_probability_matches_every_skipped_set(skipped: int) -> None:
    samples = {"a": frozenset({0, 1}), "b": frozenset({1, 4}), "c": frozenset({5, 6})}
    seats = ["a", "b", "c"]
    assert caught_probability(samples, seats, 8, skipped) == pytest.approx(
        _brute_force(samples, seats, 8, skipped)
    )


def test_a_holder_of_two_seats_decides_alone() -> None:
    samples = {"a": frozenset({0, 1}), "b": frozenset({5})}
    seats = ["a", "a", "b"]
    caught_by_a = 1 - math.comb(8, 2) / math.comb(10, 2)
    assert caught_probability(samples, seats, 10, 2) == pytest.approx(caught_by_a)
    assert caught_probability(samples, seats, 10, 2) == pytest.approx(_brute_force(samples, seats, 10, 2))


def test_one_finding_rule_catches_when_any_holder_catches() -> None:
    samples = {"a": frozenset({0}), "b": frozenset({1}), "c": frozenset({2})}
    assert caught_probability(samples, ["a", "b", "c"], 10, 1, need=1) == pytest.approx(0.3)


def test_attack_evs_at_the_edges() -> None:
    assert blind_attack_ev(0.0, 10, 1) == 0
    assert blind_attack_ev(1.0, 10, 1) == pytest.approx(3)  # every seat: three fees, nobody to take from
    assert blind_attack_ev(0.2, 10, 1) < 0 < blind_attack_ev(0.6, 10, 1)
    assert informed_capture_ev(0.0, 10) == 0
    assert informed_capture_ev(0.3, 10) == pytest.approx(3 * 0.09 * 0.7 * 10)
    assert capture_pair_ev(1.0, 500, 10, 20, 1) == pytest.approx(-10)
    assert capture_pair_ev(0.0, 500, 10, 20, 1) == pytest.approx(-13)
