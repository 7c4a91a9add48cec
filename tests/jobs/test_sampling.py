"""jobs/sampling.py: which segments a validator re-runs, and the odds that a skipping provider escapes.

The reference draw below is written from the module's documented formula with eth_abi's encoder and
web3's keccak (not the module's own byte packing), so a drift in either shows up as a mismatch.
"""

from __future__ import annotations

import collections
import itertools
import math
import tomllib
from fractions import Fraction
from pathlib import Path

import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak
from web3 import Web3

from chain import (
    DEV_ADDRESSES,
    Capabilities,
    DevChain,
    JobSpec,
    MarketClient,
    ResultCommitment,
    VerificationMode,
    dev_account,
    tokens,
)
from jobs.sampling import detection_bound, escape_probability, sample_indices

SEED = bytes(range(32))
VALIDATOR = DEV_ADDRESSES[4]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def candidate(seed: bytes, job_id: int, validator: str, t: int, population: int) -> int:
    """keccak256(abi.encode(bytes32 seed, uint256 jobId, address validator, uint256 t)) % population."""
    encoded = abi_encode(["bytes32", "uint256", "address", "uint256"], [seed, job_id, validator, t])
    return int.from_bytes(Web3.keccak(encoded), "big") % population


def reference_sample(seed: bytes, job_id: int, validator: str, count: int, population: int) -> list[int]:
    """Candidates t = 0, 1, ... until min(count, population) distinct ones; a repeat is redrawn."""
    taken: list[int] = []
    t = 0
    while len(taken) < min(count, population):
        index = candidate(seed, job_id, validator, t, population)
        if index not in taken:
            taken.append(index)
        t += 1
    return sorted(taken)


def trial_seed(label: str, trial: int) -> bytes:
    return bytes(Web3.keccak(text=f"{label}-{trial}"))


# -- sample_indices --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("job_id", "count", "population"),
    [(0, 1, 1), (1, 3, 10), (7, 5, 6), (42, 4, 5), (2**64 + 3, 8, 250), (2**256 - 1, 5, 2**32 - 1)],
)
def test_sample_matches_the_documented_formula(job_id: int, count: int, population: int) -> None:
    for validator in DEV_ADDRESSES[:4]:
        assert sample_indices(SEED, job_id, validator, count, population) == reference_sample(
            SEED, job_id, validator, count, population
        )


def test_sample_matches_the_formula_when_repeats_are_redrawn() -> None:
    """Small populations with many repeats exercise the redraw rule, not just the first k candidates."""
    redrawn = 0
    for trial in range(60):
        seed = trial_seed("redraw", trial)
        got = sample_indices(seed, trial, VALIDATOR, 4, 6)
        assert got == reference_sample(seed, trial, VALIDATOR, 4, 6)
        firsts = {candidate(seed, trial, VALIDATOR, t, 6) for t in range(4)}
        redrawn += len(firsts) < 4
    assert redrawn > 10, "the trials must include draws whose first candidates repeat"


def test_sample_is_deterministic_sorted_distinct_and_in_range() -> None:
    for population, count in [(1, 1), (2, 2), (10, 3), (250, 5), (1000, 64)]:
        first = sample_indices(SEED, 9, VALIDATOR, count, population)
        assert first == sample_indices(SEED, 9, VALIDATOR, count, population)
        assert first == sorted(set(first))
        assert len(first) == count
        assert all(0 <= index < population for index in first)


def test_sample_depends_on_seed_job_and_validator() -> None:
    base = sample_indices(SEED, 5, VALIDATOR, 6, 10_000)
    assert sample_indices(bytes(31) + b"\x01", 5, VALIDATOR, 6, 10_000) != base
    assert sample_indices(SEED, 6, VALIDATOR, 6, 10_000) != base
    assert sample_indices(SEED, 5, DEV_ADDRESSES[5], 6, 10_000) != base


def test_sample_reads_the_address_not_its_spelling() -> None:
    lower = VALIDATOR.lower()
    assert sample_indices(SEED, 3, lower, 4, 100) == sample_indices(SEED, 3, VALIDATOR, 4, 100)


def test_sample_count_is_capped_by_the_population() -> None:
    assert sample_indices(SEED, 1, VALIDATOR, 10, 4) == [0, 1, 2, 3]
    assert sample_indices(SEED, 1, VALIDATOR, 1, 1) == [0]
    assert sample_indices(SEED, 1, VALIDATOR, 255, 255) == list(range(255))
    almost = sample_indices(SEED, 1, VALIDATOR, 254, 255)
    assert len(almost) == 254 and set(almost) < set(range(255))


def test_sample_of_nothing() -> None:
    assert sample_indices(SEED, 1, VALIDATOR, 0, 10) == []
    assert sample_indices(SEED, 1, VALIDATOR, 3, 0) == []


@pytest.mark.parametrize(
    ("seed", "count", "population", "validator", "message"),
    [
        (b"\x01" * 31, 1, 4, VALIDATOR, "32-byte word"),
        (SEED, -1, 4, VALIDATOR, "count and population"),
        (SEED, 1, -4, VALIDATOR, "count and population"),
    ],
)
def test_sample_refuses_bad_inputs(
    seed: bytes, count: int, population: int, validator: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        sample_indices(seed, 1, validator, count, population)


def test_sample_refuses_an_address_that_is_not_one() -> None:
    with pytest.raises(ValueError):
        sample_indices(SEED, 1, "0x1234", 1, 4)


def test_sample_every_subset_is_equally_likely() -> None:
    """2 of 4: each of the six pairs ~1/6. Stepping past repeats (+1) would give neighbours 3/16 and the
    two non-adjacent pairs 2/16; 6000 draws tell those apart by more than 10 standard deviations."""
    trials = 6000
    counts = collections.Counter(
        tuple(sample_indices(trial_seed("pairs", t), 1, VALIDATOR, 2, 4)) for t in range(trials)
    )
    assert set(counts) == set(itertools.combinations(range(4), 2))
    sd = math.sqrt((1 / 6) * (5 / 6) / trials)
    for pair, seen in counts.items():
        assert abs(seen / trials - 1 / 6) < 4 * sd, (pair, seen)


# -- escape_probability and detection_bound -----------------------------------------------------------


def test_escape_hand_checked_small_cases() -> None:
    # 4 segments, 2 skipped: 1 sample misses them 2/4; 2 distinct samples must be the 2 done ones: 1/C(4,2).
    assert escape_probability(4, 2, 1) == pytest.approx(1 / 2)
    assert escape_probability(4, 2, 2) == pytest.approx(1 / 6)
    assert escape_probability(4, 2, 3) == 0.0  # 3 distinct samples cannot all avoid 2 of 4
    assert escape_probability(4, 0, 3) == 1.0  # nothing skipped: nothing to catch
    assert escape_probability(4, 4, 1) == 0.0
    assert escape_probability(4, 1, 99) == 0.0  # samples capped at the population: every segment is re-run
    assert escape_probability(10, 5, 3) == pytest.approx(Fraction(10, 120))  # C(5,3)/C(10,3)


def test_escape_is_below_the_independent_draw_bound() -> None:
    for population, skipped, samples in itertools.product([10, 50, 250], [1, 5, 10], [1, 3, 5]):
        f = skipped / population
        assert escape_probability(population, skipped, samples) <= (1 - f) ** samples + 1e-12


def test_escape_refuses_more_skipped_than_there_are() -> None:
    with pytest.raises(ValueError, match="skipped"):
        escape_probability(4, 5, 1)
    with pytest.raises(ValueError, match="skipped"):
        escape_probability(4, -1, 1)


def test_detection_hand_checked_small_cases() -> None:
    caught = 5 / 6  # escape_probability(4, 2, 2) == 1/6
    assert detection_bound(4, 2, 2, 1) == pytest.approx(caught)
    assert detection_bound(4, 2, 2, 2) == pytest.approx(caught**2)  # a strict majority of 2 is both
    assert detection_bound(4, 2, 2, 3) == pytest.approx(3 * caught**2 * (1 - caught) + caught**3)
    assert detection_bound(4, 2, 2, 3) == pytest.approx(25 / 27)
    assert detection_bound(4, 0, 2, 3) == 0.0
    assert detection_bound(4, 3, 2, 5) == pytest.approx(1.0)


def test_detection_grows_with_samples_and_with_odd_committees() -> None:
    by_samples = [detection_bound(100, 20, s, 3) for s in range(1, 12)]
    assert by_samples == sorted(by_samples) and by_samples[0] < by_samples[-1]
    # Each validator catches the skip more often than not here, so a larger (odd) majority helps.
    assert 1 - escape_probability(100, 20, 5) > 0.5
    by_committee = [detection_bound(100, 20, 5, c) for c in (1, 3, 5, 7)]
    assert by_committee == sorted(by_committee) and by_committee[0] < by_committee[-1]


def test_detection_a_committee_cannot_outvote_weak_validators() -> None:
    """When each validator catches a skip less than half the time, majorities make it rarer, not likelier."""
    assert 1 - escape_probability(100, 5, 2) < 0.5
    by_committee = [detection_bound(100, 5, 2, c) for c in (1, 3, 5, 7)]
    assert by_committee == sorted(by_committee, reverse=True)


def test_detection_the_examples_defaults_catch_half_skipped_at_99_percent() -> None:
    """DESIGN.md's target: skipping half the work is caught with >= 99% per job, at the shipped defaults."""
    for name in ("digits_mlp", "lstm_series"):
        verification = tomllib.loads((EXAMPLES / name / "job.toml").read_text())["verification"]
        segments, samples = verification["segments"], verification["samples_per_validator"]
        bound = detection_bound(segments, segments // 2, samples, verification["committee_size"])
        assert bound >= 0.99, (name, bound)


def test_monte_carlo_with_the_real_draw_agrees_with_the_bounds() -> None:
    """3000 seeded jobs, a committee of 3, a provider that skipped the second half (one contiguous block).

    Per-validator escapes and per-job detections must sit within 4 standard deviations of the formulas."""
    population, skipped, samples, committee = 20, 10, 3, 3
    validators = DEV_ADDRESSES[4 : 4 + committee]
    trials = 3000
    escapes = detections = 0
    for trial in range(trials):
        seed = trial_seed("monte-carlo", trial)
        caught = 0
        for validator in validators:
            drawn = sample_indices(seed, trial, validator, samples, population)
            hit = any(index >= population - skipped for index in drawn)
            caught += hit
            escapes += not hit
        detections += caught > committee // 2

    escape = escape_probability(population, skipped, samples)
    draws = trials * committee
    assert abs(escapes / draws - escape) < 4 * math.sqrt(escape * (1 - escape) / draws)
    bound = detection_bound(population, skipped, samples, committee)
    assert abs(detections / trials - bound) < 4 * math.sqrt(bound * (1 - bound) / trials)


# -- the seed on chain --------------------------------------------------------------------------------


def test_the_seed_sampling_starts_from_is_the_contracts_seed_of(market: MarketClient) -> None:
    """Only the seed is derived on chain (no contract draws segments): a submitted job's `seedOf`, read
    through anvil, is what the validator's `seed_of(blockhash(submitBlock + 1), jobId)` feeds the draw."""
    provider = market.with_account(dev_account(2))
    provider.register_provider(
        Capabilities(cpu_cores=2, memory_mib=2048, price_per_hour=tokens(1)), b"\x01" * 32
    )
    provider.stake(tokens(200))
    validator = market.with_account(dev_account(4))
    validator.stake(tokens(200))
    validator.register_validator()
    requester = market.with_account(dev_account(1))
    spec = JobSpec(
        budget=tokens(10),
        bundle_digest=b"\x22" * 32,
        bundle_codec=0x55,
        collateral=tokens(5),
        run_timeout=3600,
        cpu_cores=1,
        memory_mib=512,
        mode=VerificationMode.SEGMENTS,
        committee_size=1,
        samples_per_validator=3,
        verify_blocks=10,
        validator_fee=tokens(1),
    )
    job_id = requester.post_job(spec).job_id
    provider.claim_job(job_id)
    provider.submit_result(job_id, ResultCommitment(b"\x33" * 32, b"\x44" * 32, 9))
    DevChain(requester.rpc).mine(1)  # the seed block

    DevChain(requester.rpc).mine(1)  # the seed is the hash of the block after the submission
    on_chain = bytes(requester.seed_of(job_id))
    seed_block = requester.job(job_id).job.state.submit_block + 1
    block_hash = bytes.fromhex(requester.rpc.get_block(seed_block)["hash"][2:])
    assert on_chain == keccak(abi_encode(["bytes32", "uint256"], [block_hash, job_id]))
    assert requester.committee_of(job_id) == [validator.me]
    drawn = sample_indices(on_chain, job_id, validator.me, spec.samples_per_validator, 8)
    assert drawn == reference_sample(on_chain, job_id, validator.me, spec.samples_per_validator, 8)
