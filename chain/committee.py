"""The committee's timing and seed, mirrored from `contracts/market/ChallengeSeed.sol` (tested with `seedOf`).

seed = keccak256(abi.encode(blockhash(seedBlock), jobId)) with seedBlock = submitBlock + 1 (the block after
the submission, which nobody in the job controls). Seats are drawn from the job's roster snapshot
(`chain.roster`); votes are signed during (seedBlock, seedBlock + verifyBlocks] and revealed together by
`finalize` after that window and, below the final round, an appeal window as long (in the final round, as soon
as every seat has voted). An appeal starts round r + 1 with a larger committee: its `submitBlock` is the
appeal's block, its roster the roster at the appeal.
"""

from __future__ import annotations

from eth_abi import encode as abi_encode
from eth_utils import keccak

from chain.generated.job_layout import FINAL_ROUND, ROUND_1_SEATS, ROUND_2_SEATS
from chain.types import Bytes32, JobId, Outcome, Wei

__all__ = [
    "FINAL_ROUND",
    "appeal_window",
    "decision",
    "first_vote_block",
    "last_vote_block",
    "round_seats",
    "seat_bond",
    "seed_block",
    "seed_of",
    "settle_block",
]


def seed_block(submit_block: int) -> int:
    """The block whose hash seeds a job submitted in `submit_block`: the next one."""
    return submit_block + 1


def first_vote_block(submit_block: int) -> int:
    """The first block in which the seed is readable, so seats can be known and votes signed."""
    return seed_block(submit_block) + 1


def last_vote_block(submit_block: int, verify_blocks: int) -> int:
    """The window's last block; `finalize` with silent seats works from the block after."""
    return seed_block(submit_block) + verify_blocks


def appeal_window(submit_block: int, verify_blocks: int) -> tuple[int, int]:
    """The first and last block in which the round started at `submit_block` may be appealed."""
    opens = last_vote_block(submit_block, verify_blocks) + 1
    return opens, opens + verify_blocks - 1


def settle_block(submit_block: int, verify_blocks: int, round_: int, *, has_committee: bool = True) -> int:
    """The last block at which `finalize` still waits: the vote window's end and, below the final round of a
    job with a committee, the appeal window's end (`finalize` works from the block after)."""
    last = last_vote_block(submit_block, verify_blocks)
    if has_committee and round_ < FINAL_ROUND:
        last += verify_blocks
    return last


def round_seats(committee_size: int, round_: int) -> int:
    """Seats in round `round_`: the requester's committee, then `ROUND_1_SEATS` and `ROUND_2_SEATS`."""
    if round_ == 0:
        return committee_size
    return ROUND_1_SEATS if round_ == 1 else ROUND_2_SEATS


def seat_bond(budget: int, committee_size: int, round_: int, validator_slash: int) -> Wei:
    """What a seat of round `round_` loses when it is silent or on the losing side of the final outcome
    (`JobSettlement._seatBond`): the budget shared by a majority of the round's seats, at least
    `validatorSlash`."""
    majority = (round_seats(committee_size, round_) + 1) // 2
    if majority == 0:
        raise ValueError("a job without a committee has no seats, so no seat bond")
    return Wei(max(validator_slash, budget // majority))


def decision(approvals: int, rejections: int, judges: int, size: int) -> Outcome:
    """What a round's committee of `size` seats decided (`JobSettlement._decision`): a side needs a majority
    of the `judges` (the seats not held by the requester); a committee whose every seat is the requester's
    accepts."""
    if approvals * 2 > judges or (size != 0 and judges == 0):
        return Outcome.ACCEPTED
    if rejections * 2 > judges:
        return Outcome.REJECTED
    return Outcome.UNVERIFIED


def seed_of(seed_block_hash: bytes, job_id: JobId) -> Bytes32:
    """The challenge seed from the seed block's hash: unknown to the provider, and to the producer of the
    submission block, when the submission was mined."""
    return Bytes32(keccak(abi_encode(["bytes32", "uint256"], [seed_block_hash, job_id])))
