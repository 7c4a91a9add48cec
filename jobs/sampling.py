"""Which segments (or shards) a committee validator re-executes, and how likely a cheat is to be caught.

The sample is a pure function of the job's on-chain seed (drawn from the hash of the block that holds the
submission, unknown to the provider when it committed), the job id, the validator's address and the
count, so anyone can recompute it and nobody can steer it:

    k = min(count, population)
    for t = 0, 1, 2, ... until k distinct indices are taken:
        candidate_t = uint256(keccak256(abi.encode(bytes32 seed, uint256 jobId, address validator,
                                                   uint256 t))) % population
        take candidate_t unless it is already taken
    (k == population takes every index without hashing)

A Solidity verifier could recompute it the same way. Different validators draw independent samples.
A repeat is redrawn rather than stepped past (+1, as `contracts/market/Committee.sol` does for the
committee): stepping favours the neighbours of earlier picks, so a provider skipping one contiguous
block would escape more often than the formula below says; redrawing makes every k-subset equally likely.

A provider that skipped a fraction f of the segments escapes one validator drawing s distinct segments
with probability C(N - fN, s) / C(N, s) <= (1 - f)^s; the job is rejected when a strict majority of
the committee catches it (`detection_bound`).
"""

from __future__ import annotations

import math

from eth_utils import keccak, to_canonical_address

from chain.types import JobId

__all__ = ["detection_bound", "escape_probability", "sample_indices"]


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def sample_indices(seed: bytes, job_id: JobId, validator: str, count: int, population: int) -> list[int]:
    """The distinct indices in `range(population)` that `validator` re-executes, in ascending order."""
    if len(seed) != 32:
        raise ValueError(f"the seed is a 32-byte word, got {len(seed)} bytes")
    if count < 0 or population < 0:
        raise ValueError("count and population must be >= 0")
    address = to_canonical_address(validator)
    wanted = min(count, population)
    if wanted == population:
        return list(range(population))
    taken: set[int] = set()
    prefix = bytes(seed) + _word(job_id) + bytes(12) + address
    draw = 0
    while len(taken) < wanted:
        taken.add(int.from_bytes(keccak(prefix + _word(draw)), "big") % population)
        draw += 1
    return sorted(taken)


def escape_probability(population: int, skipped: int, samples: int) -> float:
    """Chance that `samples` distinct draws from `population` segments all miss the `skipped` ones."""
    if not 0 <= skipped <= population:
        raise ValueError("skipped must be within 0..population")
    samples = min(samples, population)
    if samples > population - skipped:
        return 0.0
    return math.comb(population - skipped, samples) / math.comb(population, samples)


def detection_bound(population: int, skipped: int, samples: int, committee: int) -> float:
    """Chance that a strict majority of `committee` independent validators each catch the skip."""
    caught = 1.0 - escape_probability(population, skipped, samples)
    need = committee // 2 + 1
    return sum(
        math.comb(committee, m) * caught**m * (1.0 - caught) ** (committee - m)
        for m in range(need, committee + 1)
    )
