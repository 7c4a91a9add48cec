"""The verification committee, mirrored from `contracts/market/Committee.sol` (tested against `committeeOf`).

seed = keccak256(abi.encode(blockhash(submitBlock), jobId)); slot j starts at
keccak256(abi.encode(seed, j)) % validatorCount and probes forward past indices taken by earlier slots.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_abi import encode as abi_encode
from eth_utils import keccak

from chain.types import Bytes32, Job, JobId


def seed_of(submit_block_hash: bytes, job_id: JobId) -> Bytes32:
    """The challenge seed: unknown to the provider when it signed its submission."""
    return Bytes32(keccak(abi_encode(["bytes32", "uint256"], [submit_block_hash, job_id])))


def committee_indices(seed: bytes, committee_size: int, validator_count: int) -> list[int]:
    """Distinct indices into the validator list, one per committee slot."""
    size = min(committee_size, validator_count)
    taken: list[int] = []
    for slot in range(size):
        index = (
            int.from_bytes(keccak(abi_encode(["bytes32", "uint256"], [seed, slot])), "big") % validator_count
        )
        while index in taken:
            index = (index + 1) % validator_count
        taken.append(index)
    return taken


def committee_of(job: Job, seed: bytes, validators: Sequence[str]) -> list[str]:
    """The committee's addresses, slot by slot, drawn from the first `validatorCount` validators."""
    count = job.state.validator_count
    if count > len(validators):
        raise ValueError(f"the job was submitted with {count} validators; only {len(validators)} given")
    return [validators[i] for i in committee_indices(seed, job.spec.committee_size, count)]


def slot_of(committee: Sequence[str], address: str) -> int | None:
    """The committee slot held by `address`, or None."""
    lowered = address.lower()
    for slot, member in enumerate(committee):
        if member.lower() == lowered:
            return slot
    return None
