"""The committee's timing and seed, mirrored from `contracts/market/ChallengeSeed.sol` (tested with `seedOf`).

seed = keccak256(abi.encode(blockhash(seedBlock), jobId)) with seedBlock = submitBlock + 1 (the block after
the submission, which nobody in the job controls). Seats are drawn from the job's roster snapshot
(`chain.roster`); votes are signed during (seedBlock, seedBlock + verifyBlocks] and revealed together by
`finalize` after that window (or as soon as every seat has voted).
"""

from __future__ import annotations

from eth_abi import encode as abi_encode
from eth_utils import keccak

from chain.types import Bytes32, JobId


def seed_block(submit_block: int) -> int:
    """The block whose hash seeds a job submitted in `submit_block`: the next one."""
    return submit_block + 1


def first_vote_block(submit_block: int) -> int:
    """The first block in which the seed is readable, so seats can be known and votes signed."""
    return seed_block(submit_block) + 1


def last_vote_block(submit_block: int, verify_blocks: int) -> int:
    """The window's last block; `finalize` with silent seats works from the block after."""
    return seed_block(submit_block) + verify_blocks


def seed_of(seed_block_hash: bytes, job_id: JobId) -> Bytes32:
    """The challenge seed from the seed block's hash: unknown to the provider, and to the producer of the
    submission block, when the submission was mined."""
    return Bytes32(keccak(abi_encode(["bytes32", "uint256"], [seed_block_hash, job_id])))
