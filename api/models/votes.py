"""Committee votes relayed by the gateway: a seat's signed vote in, a job's votes out once revealed.

The body of `POST /jobs/{id}/votes` is `chain.votes.SignedVote.to_json()`; `GET /jobs/{id}/votes` answers the
same JSON for every stored vote of the current round, and only once its window has closed or every seat of
it has voted; `?round=` reads an earlier, appealed round's votes.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chain import VoteReason

_HEX32 = r"^0x[0-9a-fA-F]{64}$"
_ADDRESS = r"^0x[0-9a-fA-F]{40}$"


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EvidenceWire(_Wire):
    segment: int = Field(ge=0, lt=2**32)
    committed_digest: str = Field(pattern=_HEX32)
    recomputed_digest: str = Field(pattern=_HEX32)
    # VoteReason (from the generated layout): 0 Recomputed, else a finding (which must reject)
    reason: int = Field(default=0, ge=0, lt=len(VoteReason))


class SignedVoteWire(_Wire):
    """One seat's EIP-712 `Vote`, signed by the seat's holder (compact EIP-2098 signature `r`, `vs`)."""

    job_id: int = Field(ge=0, lt=2**256)
    round: int = Field(default=0, ge=0, le=2)  # the committee round (0, or an appeal's)
    seat: int = Field(ge=0, lt=256)
    validator: str = Field(pattern=_ADDRESS)
    approve: bool
    evidence: EvidenceWire
    r: str = Field(pattern=_HEX32)
    vs: str = Field(pattern=_HEX32)

    def as_json(self) -> dict[str, Any]:
        return self.model_dump()


class VoteAccepted(BaseModel):
    job_id: int
    seat: int
    stored: bool = True


class VotesPublic(BaseModel):
    """Every stored vote of one round of a job's current result, revealed together."""

    round: int = Field(default=0, description="the committee round these votes belong to")
    votes: list[SignedVoteWire]
    revealed: bool = True
