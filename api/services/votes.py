"""The votes relay: seat holders hand in their signed votes; they stay private until revealed together.

A vote is stored once per (job, round, seat) for the job's current result, and only for the job's current
round (an appeal starts the next one, `chain.round_seats` seats drawn afresh); its seat's holder may replace
it until the round's votes are revealed, nobody else may. The gateway checks what `finalize` will check: the
signature recovers to the vote's validator over the job's current result hash and round, and that validator
holds the seat (the round's roster snapshot, rebuilt from the indexed `ValidatorWeightChanged` events, drawn
with the seed of block `submitBlock + 1`, where `submitBlock` is the round's: the submission or the appeal).

A round's votes are revealed (`read_votes`) only once its window has closed as the index sees the chain
(last indexed block > submitBlock + 1 + verifyBlocks) or every seat of it has a stored vote; before that not
even how a seat voted leaks, only how many seats have voted. Once revealed, no vote is taken or replaced.
An appealed round's votes are public for good (the appeal revealed them on chain too).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

from eth_abi import encode as abi_encode
from eth_keys import keys
from eth_keys.exceptions import BadSignature
from eth_utils import keccak, to_checksum_address

from api.db import Connection
from api.errors import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    JobClosedError,
    NotFoundError,
    ServiceUnavailableError,
    VotesNotYetError,
    VotesRevealedError,
)
from api.gateway import Gateway
from api.indexer.checkpoint import load_checkpoint, market_identity
from api.models.votes import SignedVoteWire, VoteAccepted, VotesPublic
from chain import JobId, Roster, RosterError, SignedVote, result_hash, round_seats, vote_digest

__all__ = ["JobWindow", "read_votes", "store_vote", "vote_window"]

log = logging.getLogger(__name__)

_S_MASK = (1 << 255) - 1


@dataclass(frozen=True)
class JobWindow:
    """Where a submitted job's voting stands, as the index sees it."""

    job_id: int
    state: str
    round: int
    """The job's current committee round (0, then one more per appeal)."""
    seats: int
    """The current round's seat count (`round_seats`)."""
    submit_block: int
    """The block the current round started in: the result's submission, or the last appeal."""
    window_end: int
    """The last block of the round's window: `submitBlock + 1 + verifyBlocks`."""
    head: int | None
    """The last block the index has processed."""
    roster_root: bytes
    result_hash: bytes
    voted: int
    """Seats of the current round with a stored vote on the current result."""

    @property
    def closed(self) -> bool:
        return self.head is not None and self.head > self.window_end

    @property
    def revealed(self) -> bool:
        return self.closed or (self.seats > 0 and self.voted >= self.seats)


# -- writes


def store_vote(gateway: Gateway, job_id: JobId, wire: SignedVoteWire, ip: str) -> VoteAccepted:
    """Check a signed vote as `finalize` will and keep it (replacing the seat holder's earlier vote)."""
    gateway.vote_limiter.check(ip)
    if wire.job_id != job_id:
        raise InvalidRequestError(f"the vote is for job {wire.job_id}, but was posted to job {job_id}")
    vote = SignedVote.from_json(wire.as_json())
    conn = gateway.db.connection()
    window = vote_window(conn, job_id)
    if window.state != "Submitted":
        raise (VotesNotYetError if window.state in ("Open", "Claimed") else JobClosedError)(
            f"job {job_id} is {window.state} (as this gateway's index has it): votes are taken only while "
            "a result is submitted and awaits its committee"
        )
    if vote.round < window.round:
        raise VotesRevealedError(
            f"the vote is for round {vote.round} of job {job_id}, which was appealed: the job is in round "
            f"{window.round} now, whose {window.seats} seats are drawn afresh; only round {window.round}'s "
            "votes are taken"
        )
    if vote.round > window.round:
        raise VotesNotYetError(
            f"the vote is for round {vote.round} of job {job_id}, but the job is in round {window.round} "
            "(as this gateway's index has it): send it once the appeal is indexed"
        )
    if vote.seat >= window.seats:
        raise InvalidRequestError(
            f"seat {vote.seat} does not exist: job {job_id}'s committee has {window.seats} seats "
            f"(0..{window.seats - 1}) in round {window.round}"
        )
    if window.revealed:
        raise VotesRevealedError(
            f"the round {window.round} votes on job {job_id} are already revealed (block "
            f"{window.window_end} has passed, or every seat voted): no vote is taken or replaced any more"
        )
    signer = _recover(gateway, conn, vote, window.result_hash)
    if signer is None or signer.lower() != vote.validator.lower():
        raise AuthenticationError(
            f"the signature does not recover to {vote.validator} for seat {vote.seat} of job {job_id}'s "
            f"current result (0x{window.result_hash.hex()}): sign the vote on this result, as the holder"
        )
    gateway.vote_limiter.check(vote.validator.lower())
    holder = _seat_holder(gateway, conn, window, vote.seat)
    if holder.lower() != vote.validator.lower():
        raise ForbiddenError(f"seat {vote.seat} of job {job_id} is held by {holder}, not {vote.validator}")
    _store(gateway, window, vote)
    return VoteAccepted(job_id=job_id, seat=vote.seat, stored=True)


def _recover(gateway: Gateway, conn: Connection, vote: SignedVote, result: bytes) -> str | None:
    digest = vote_digest(
        gateway.settings.chain_id,
        _market(conn),
        vote.job_id,
        result,
        vote.seat,
        vote.approve,
        vote.evidence,
        vote.round,
    )
    vs = int.from_bytes(vote.vs, "big")
    try:
        signature = keys.Signature(vrs=(vs >> 255, int.from_bytes(vote.r, "big"), vs & _S_MASK))
        return str(signature.recover_public_key_from_msg_hash(digest).to_checksum_address())
    except (BadSignature, ValueError):
        return None


def _seat_holder(gateway: Gateway, conn: Connection, window: JobWindow, seat: int) -> str:
    seed_block = window.submit_block + 1
    block_hash = gateway.block_hash(seed_block)
    if block_hash is None:
        raise VotesNotYetError(
            f"job {window.job_id}'s committee is drawn from block {seed_block}'s hash, which is not mined "
            "yet: send the vote once it is"
        )
    seed = keccak(abi_encode(["bytes32", "uint256"], [block_hash, window.job_id]))
    roster = _snapshot(conn, window)
    try:
        return to_checksum_address(roster.seat(seed, seat).member.validator)
    except RosterError as exc:
        raise ConflictError(f"job {window.job_id} has no committee to vote in: {exc}") from exc


def _snapshot(conn: Connection, window: JobWindow) -> Roster:
    """The roster the job was submitted under: the indexed weight changes up to the submission, cut where
    the root matches (a later transaction of the same block may have changed the roster again)."""
    rows = conn.execute(
        "SELECT block_number, log_index, args FROM events WHERE event = 'ValidatorWeightChanged'"
        " AND block_number <= ? ORDER BY block_number, log_index",
        (window.submit_block,),
    ).fetchall()
    changes = [json.loads(row["args"]) for row in rows]
    before = sum(1 for row in rows if row["block_number"] < window.submit_block)
    for cut in range(len(changes), before - 1, -1):
        roster = Roster()
        for change in changes[:cut]:
            roster.set(int(change["leaf"]), str(change["validator"]), int(change["weight"]))
        if roster.root == window.roster_root:
            return roster
    raise ServiceUnavailableError(
        f"the index has no roster with job {window.job_id}'s round {window.round} root "
        f"0x{window.roster_root.hex()} (it is still catching up): try again shortly"
    )


def _store(gateway: Gateway, window: JobWindow, vote: SignedVote) -> None:
    current = "0x" + window.result_hash.hex()
    with gateway.db.write() as conn:
        old = conn.execute(
            "SELECT validator, result_hash FROM seat_votes WHERE job_id = ? AND round = ? AND seat = ?",
            (window.job_id, window.round, vote.seat),
        ).fetchone()
        # Defence in depth: the holder check above already refuses anyone else.
        if old is not None and old["result_hash"] == current and old["validator"] != vote.validator.lower():
            raise ForbiddenError(
                f"seat {vote.seat} of job {window.job_id} already holds another validator's vote"
            )
        conn.execute(
            "INSERT OR REPLACE INTO seat_votes"
            " (job_id, round, seat, validator, result_hash, vote, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                window.job_id,
                window.round,
                vote.seat,
                vote.validator.lower(),
                current,
                json.dumps(vote.to_json(), sort_keys=True),
                time.time(),
            ),
        )


# -- reads


def read_votes(conn: Connection, job_id: JobId, round_: int | None = None) -> VotesPublic:
    """Every stored vote of round `round_` (default: the current one) on the job's current result, once
    revealed: the current round's after its window or once every seat voted, an appealed round's always;
    `ConflictError` (409) before."""
    window = vote_window(conn, job_id)
    wanted = window.round if round_ is None else round_
    if wanted > window.round:
        raise VotesNotYetError(
            f"job {job_id} is in round {window.round} (as this gateway's index has it): round {wanted} has "
            "not started",
            round=window.round,
        )
    if wanted == window.round and not window.revealed:
        raise VotesNotYetError(
            f"round {window.round} votes on job {job_id} are revealed together after block "
            f"{window.window_end} (or once every seat has voted): {window.voted} of {window.seats} seats "
            "have voted so far",
            reveal_after_block=window.window_end,
            voted=window.voted,
            seats=window.seats,
            round=window.round,
        )
    rows = conn.execute(
        "SELECT vote FROM seat_votes WHERE job_id = ? AND round = ? AND result_hash = ? ORDER BY seat",
        (job_id, wanted, "0x" + window.result_hash.hex()),
    ).fetchall()
    return VotesPublic(
        round=wanted, votes=[SignedVoteWire.model_validate(json.loads(row["vote"])) for row in rows]
    )


def vote_window(conn: Connection, job_id: JobId) -> JobWindow:
    """The job's window as the index has it; 404 for an unknown job, 409 before a result is submitted."""
    row = conn.execute(
        "SELECT state, round, committee_size, verify_blocks, submit_block, roster_root FROM jobs"
        " WHERE job_id = ?",
        (job_id,),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"job {job_id} is not in the index (not posted, or not indexed yet)")
    if row["submit_block"] is None:
        raise (VotesNotYetError if row["state"] in ("Open", "Claimed") else JobClosedError)(
            f"job {job_id} is {row['state']} with no submitted result (as this gateway's index has it): "
            "there is nothing to vote on yet"
        )
    result = _current_result_hash(conn, job_id)
    round_ = int(row["round"])
    voted = conn.execute(
        "SELECT COUNT(*) FROM seat_votes WHERE job_id = ? AND round = ? AND result_hash = ?",
        (job_id, round_, "0x" + result.hex()),
    ).fetchone()[0]
    submit_block = int(row["submit_block"])
    return JobWindow(
        job_id=job_id,
        state=str(row["state"]),
        round=round_,
        seats=round_seats(int(row["committee_size"]), round_),
        submit_block=submit_block,
        window_end=submit_block + 1 + int(row["verify_blocks"]),
        head=load_checkpoint(conn),
        roster_root=_bytes(row["roster_root"]),
        result_hash=result,
        voted=int(voted),
    )


def _current_result_hash(conn: Connection, job_id: JobId) -> bytes:
    row = conn.execute(
        "SELECT args FROM events WHERE job_id = ? AND event = 'ResultSubmitted'"
        " ORDER BY block_number DESC, log_index DESC LIMIT 1",
        (job_id,),
    ).fetchone()
    if row is None:
        raise VotesNotYetError(f"job {job_id} has no indexed ResultSubmitted event yet")
    args = json.loads(row["args"])
    return bytes(
        result_hash(
            _bytes(args["resultDigest"]),
            int(args["resultCodec"]),
            _bytes(args["checkpointRoot"]),
            int(args["checkpointCount"]),
        )
    )


def _market(conn: Connection) -> str:
    identity = market_identity(conn)
    if identity is None:
        raise ServiceUnavailableError("the index follows no market yet, so votes cannot be checked")
    return identity[1]


def _bytes(value: str | None) -> bytes:
    return bytes.fromhex((value or "0x" + "00" * 32).removeprefix("0x"))
