"""Committee votes as the market checks them: EIP-712 `Vote` signatures and the `SeatVote` rows of `finalize`.

A seat's holder signs `Vote(jobId, round, resultHash, seat, approve, segment, committedDigest,
recomputedDigest, reason)` in the domain ("CrowdMarket", "2", chainId, market). Signed votes travel off
chain (the gateway relays them) and
are revealed together by whoever calls `finalize`, with every seat proven against the job's roster snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from chain.roster import Roster, SeatProof
from chain.types import Evidence, VoteReason

DOMAIN_NAME = "CrowdMarket"
DOMAIN_VERSION = "2"

VOTE_TYPES = {
    "Vote": [
        {"name": "jobId", "type": "uint256"},
        {"name": "round", "type": "uint8"},
        {"name": "resultHash", "type": "bytes32"},
        {"name": "seat", "type": "uint8"},
        {"name": "approve", "type": "bool"},
        {"name": "segment", "type": "uint32"},
        {"name": "committedDigest", "type": "bytes32"},
        {"name": "recomputedDigest", "type": "bytes32"},
        {"name": "reason", "type": "uint8"},
    ]
}


class Ballot(IntEnum):
    """How a seat voted (`Votes.sol`)."""

    SILENT = 0
    APPROVE = 1
    REJECT = 2


@dataclass(frozen=True)
class SignedVote:
    """One seat's signed vote, as validators hand it to whoever finalizes (JSON-able with `to_json`)."""

    job_id: int
    seat: int
    validator: str
    approve: bool
    evidence: Evidence
    r: bytes
    vs: bytes
    round: int = 0  # the committee round the vote belongs to (0, or an appeal's round)

    def to_json(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "round": self.round,
            "seat": self.seat,
            "validator": self.validator,
            "approve": self.approve,
            "evidence": {
                "segment": self.evidence.segment,
                "committed_digest": "0x" + bytes(self.evidence.committed_digest).hex(),
                "recomputed_digest": "0x" + bytes(self.evidence.recomputed_digest).hex(),
                "reason": int(self.evidence.reason),
            },
            "r": "0x" + self.r.hex(),
            "vs": "0x" + self.vs.hex(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SignedVote:
        evidence = data["evidence"]
        return cls(
            job_id=int(data["job_id"]),
            seat=int(data["seat"]),
            validator=to_checksum_address(data["validator"]),
            approve=bool(data["approve"]),
            evidence=Evidence(
                segment=int(evidence["segment"]),
                committed_digest=_bytes32(evidence["committed_digest"]),
                recomputed_digest=_bytes32(evidence["recomputed_digest"]),
                reason=VoteReason(int(evidence.get("reason", 0))),
            ),
            r=_bytes32(data["r"]),
            vs=_bytes32(data["vs"]),
            round=int(data.get("round", 0)),
        )


def _bytes32(text: str) -> bytes:
    raw = bytes.fromhex(text.removeprefix("0x"))
    if len(raw) != 32:
        raise ValueError(f"expected 32 bytes of hex, got {len(raw)}")
    return raw


def vote_digest(
    chain_id: int,
    market: str,
    job_id: int,
    result_hash: bytes,
    seat: int,
    approve: bool,
    evidence: Evidence,
    round_: int = 0,
) -> bytes:
    """The EIP-712 digest the contract's `voteDigest` returns."""
    signable = _typed(chain_id, market, job_id, round_, result_hash, seat, approve, evidence)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def sign_vote(
    account: LocalAccount,
    chain_id: int,
    market: str,
    job_id: int,
    result_hash: bytes,
    seat: int,
    approve: bool,
    evidence: Evidence,
    round_: int = 0,
) -> SignedVote:
    """`account`'s signature of its vote at `seat` of round `round_`, in the compact (EIP-2098) form
    `finalize` takes."""
    signed = account.sign_message(
        _typed(chain_id, market, job_id, round_, result_hash, seat, approve, evidence)
    )
    y_parity = signed.v - 27
    vs = ((y_parity << 255) | signed.s).to_bytes(32, "big")
    return SignedVote(
        job_id, seat, account.address, approve, evidence, signed.r.to_bytes(32, "big"), vs, round=round_
    )


def _typed(
    chain_id: int,
    market: str,
    job_id: int,
    round_: int,
    result_hash: bytes,
    seat: int,
    approve: bool,
    evidence: Evidence,
) -> Any:
    return encode_typed_data(
        domain_data={
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": to_checksum_address(market),
        },
        message_types=VOTE_TYPES,
        message_data={
            "jobId": job_id,
            "round": round_,
            "resultHash": bytes(result_hash),
            "seat": seat,
            "approve": approve,
            "segment": evidence.segment,
            "committedDigest": bytes(evidence.committed_digest),
            "recomputedDigest": bytes(evidence.recomputed_digest),
            "reason": int(evidence.reason),
        },
    )


def seat_rows(
    roster: Roster, seed: bytes, size: int, votes: Mapping[int, SignedVote]
) -> list[tuple[Any, ...]]:
    """The `SeatVote[]` argument of `finalize`: every seat of the committee, signed where `votes` has it.

    A vote whose signer does not hold its seat is left out (the seat counts as silent) rather than failing
    the whole call.
    """
    if roster.total == 0:
        return []
    rows = []
    for proof in roster.committee(seed, size):
        vote = votes.get(proof.seat)
        if vote is not None and vote.validator.lower() != proof.member.validator.lower():
            vote = None
        rows.append(_row(proof, vote))
    return rows


def _row(proof: SeatProof, vote: SignedVote | None) -> tuple[Any, ...]:
    member = proof.member
    if vote is None:
        ballot, evidence, r, vs = Ballot.SILENT, Evidence(), bytes(32), bytes(32)
    else:
        ballot = Ballot.APPROVE if vote.approve else Ballot.REJECT
        evidence, r, vs = vote.evidence, vote.r, vote.vs
    return (
        member.index,
        member.validator,
        member.weight,
        list(proof.siblings),
        int(ballot),
        evidence.to_abi(),
        r,
        vs,
    )


def seats_of(roster: Roster, seed: bytes, size: int, validator: str) -> list[int]:
    """The seats `validator` holds (draws are with replacement: it may hold several)."""
    if roster.total == 0:
        return []
    lowered = validator.lower()
    return [p.seat for p in roster.committee(seed, size) if p.member.validator.lower() == lowered]


def holders(roster: Roster, seed: bytes, size: int) -> Sequence[str]:
    """Seat holders in seat order."""
    if roster.total == 0:
        return []
    return [p.member.validator for p in roster.committee(seed, size)]
