"""The pure parts of bench/economics.py: the binomial capture curve, the exact P(caught) and the EV formulas.
(The script itself runs against anvil; these keep its arithmetic from breaking silently.)"""

from __future__ import annotations

import itertools
import math

import pytest

from bench.economics import (
    AppealTerms,
    appealed_capture_ev,
    binomial_pmf,
    blind_attack_ev,
    capture_pair_ev,
    capture_share,
    caught_probability,
    cheat_ev,
    crossing,
    daemon_appeals,
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


# The captured job of bench/economics.py at budget 1000, fee 1: seat bonds max(10, 1000 // majority) for 3, 31
# and 193 seats, appeal bonds max(10, seats x fee), reward 1 % less the 2 % protocol fee.
TERMS = AppealTerms(bonds=(500, 62.5, 1000 / 97), appeal_bonds=(31, 193), net_reward=10 - 20, validator_fee=1)


@pytest.mark.parametrize(("size", "share"), [(3, 0.3), (31, 1 / 3), (193, 0.45)])
def test_binomial_pmf_sums_to_one_and_its_tail_is_the_majority_probability(size: int, share: float) -> None:
    pmf = binomial_pmf(size, share)
    assert len(pmf) == size + 1 and sum(pmf) == pytest.approx(1)
    assert sum(pmf[size // 2 + 1 :]) == pytest.approx(majority_probability(share, size))


def test_the_daemon_appeals_a_lost_round_up_to_its_seat_bond_by_default() -> None:
    assert daemon_appeals(31, 500)  # round 0 of a budget-1000 job: 31 fees against a seat bond of 500
    assert daemon_appeals(500, 500)
    assert not daemon_appeals(193, 62)  # round 1: 193 fees against budget / 16
    assert daemon_appeals(193, 62, max_appeal_bond=200)  # --max-appeal-bond replaces the seat bond
    assert not daemon_appeals(31, 500, max_appeal_bond=30)
    assert not daemon_appeals(10, 500, max_appeal_bond=0)  # 0: never


def test_round_1_settles_every_honest_or_pair_bond_with_the_outcome() -> None:
    # won: the honest round-0 seat, the 31 - 20 honest round-1 seats and the honest appeal bond
    assert TERMS.won_round_1(20) == pytest.approx(500 + 11 * 62.5 + 31)
    # lost: paid reward - fee, less the honest round-0 seat's fee, two round-0 bonds and 10 round-1 bonds
    assert TERMS.lost_round_1(10) == pytest.approx(-10 - 1 - 1000 - 625)
    assert TERMS.accepted(0) == -10 and TERMS.accepted(3) == -13


def test_appealing_round_1_is_worth_its_binomial_average_of_the_final_round() -> None:
    # without stake the final round is always lost; with all of it always won
    assert TERMS.round_2_appeal_value(0.0, 10) == pytest.approx(TERMS.lost_round_1(10) - 193)
    assert TERMS.round_2_appeal_value(1.0, 10) == pytest.approx(TERMS.won_round_1(10))
    # a stake minority loses the final round nearly always, so appealing only adds bonds to lose;
    # at one half it wins 193 seats half the time, worth far more than a certain loss
    for seats in (5, 10, 15):
        assert not TERMS.pair_appeals_round_1(1 / 3, seats)
        assert not TERMS.pair_appeals_round_1(0.45, seats)
        assert TERMS.pair_appeals_round_1(0.5, seats)


def test_appealed_capture_ev_falls_back_to_the_no_appeal_figure_and_is_negative_below_half() -> None:
    for share in (0.0, 0.2, 1 / 3, 0.45, 0.5, 1.0):
        assert appealed_capture_ev(share, TERMS, honest_appeals=False) == pytest.approx(
            capture_pair_ev(share, 500, -10 + 20, 20, 1)
        )
    assert appealed_capture_ev(0.0, TERMS) == pytest.approx(-13)
    assert appealed_capture_ev(1.0, TERMS) == pytest.approx(-10)
    assert appealed_capture_ev(1 / 3, TERMS) < 0 < appealed_capture_ev(1 / 3, TERMS, honest_appeals=False)
    assert appealed_capture_ev(0.45, TERMS) < 0 < appealed_capture_ev(0.45, TERMS, honest_appeals=False)
    assert appealed_capture_ev(0.5, TERMS) > 0
