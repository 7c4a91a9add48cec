"""The verification committee, mirrored from `contracts/market/ChallengeSeed.sol` and
`contracts/market/Committee.sol` (tested against `seedOf` and `committeeOf`).

seed = keccak256(abi.encode(blockhash(seedBlock), jobId)) with seedBlock = submitBlock + 1 (the block after
the submission, which nobody in the job controls); slot j starts at keccak256(abi.encode(seed, j)) %
validatorCount and probes forward past indices taken by earlier slots. Votes are accepted in blocks
(seedBlock, seedBlock + verifyBlocks]: the seed block's hash is readable from the block after it.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_abi import encode as abi_encode
from eth_utils import keccak

from chain.types import Bytes32, Job, JobId


def seed_block(submit_block: int) -> int:
    """The block whose hash seeds a job submitted in `submit_block`: the next one."""
    return submit_block + 1


def first_vote_block(submit_block: int) -> int:
    """The first block that accepts votes: the one after the seed block (its hash is readable there)."""
    return seed_block(submit_block) + 1


def last_vote_block(submit_block: int, verify_blocks: int) -> int:
    """The last block that accepts votes; `finalize` without a majority works from the block after."""
    return seed_block(submit_block) + verify_blocks


def seed_of(seed_block_hash: bytes, job_id: JobId) -> Bytes32:
    """The challenge seed from the seed block's hash (`seed_block(submitBlock)`): unknown to the provider, and
    to the producer of the submission block, when the submission was mined."""
    return Bytes32(keccak(abi_encode(["bytes32", "uint256"], [seed_block_hash, job_id])))


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
