"""Jobs as the index knows them: spec fields, state, round, timeline, votes and appeals."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from api.models.reports import JobReportsPublic
from chain import JobStatus, Outcome, enum_label

CLOSED_BY_EVENT = ("Cancelled", "Expired", "Released")
"""How a job closes without a verdict: the states its `JobCancelled` and `JobExpired` events give it, and
`ClaimReleased` when a confidential job's claimant gave it back after a recorded key and it did not reopen."""

JOB_STATE_NAMES: tuple[str, ...] = (
    *(enum_label(status) for status in JobStatus if status not in (JobStatus.NONE, JobStatus.CLOSED)),
    *(enum_label(outcome) for outcome in Outcome),
    *CLOSED_BY_EVENT,
)
"""A job's state as the index tells it: its live `JobStatus`, or how it closed (an `Outcome`, or an event)."""

if TYPE_CHECKING:
    JobStateName = str
else:  # the same names as a Literal, for validation and the OpenAPI schema
    JobStateName = Literal[JOB_STATE_NAMES]
Amount = str
"""Token amounts in the smallest unit, as decimal strings (they exceed JavaScript's safe integers)."""


class JobPublic(BaseModel):
    id: int
    state: JobStateName
    requester: str
    provider: str | None = Field(description="the provider holding (or last holding) the job")
    bundle_cid: str | None
    budget: Amount
    reward: Amount
    protocol_fee: Amount = Field(description="burned if the job is accepted, refunded otherwise")
    collateral: Amount
    validator_fee: Amount
    gpu_count: int
    gpu_memory_mib: int
    gpu_class: int
    cpu_cores: int
    memory_mib: int
    run_timeout_s: int
    mode: str
    committee_size: int
    samples_per_validator: int
    verify_blocks: int
    reopen_on_failure: bool
    result_key: str = Field(
        default="0x" + "00" * 32,
        description="the requester's X25519 public key for sealed results (0x-hex); nonzero makes the job "
        "confidential (docs/confidential.md)",
    )
    attempts: int
    deadline: int | None
    round: int = Field(
        default=0, description="the committee round: 0, then one more per appeal (`FINAL_ROUND` is the last)"
    )
    submit_block: int | None = Field(
        description="the block the current round started in: the result's submission, or the last appeal"
    )
    roster_root: str | None = Field(
        description="the validator roster's root the current round's committee is drawn from"
    )
    result_cid: str | None
    checkpoint_root: str | None
    checkpoint_count: int | None
    outcome: str | None
    accepts: int | None
    rejects: int | None
    posted_block: int
    posted_at: int | None
    updated_block: int
    updated_at: int | None


class JobsPublic(BaseModel):
    data: list[JobPublic]
    count: int = Field(description="jobs matching the filters, ignoring limit and offset")


class ChainEventPublic(BaseModel):
    event: str
    block_number: int
    log_index: int
    tx_hash: str
    timestamp: int | None
    args: dict[str, Any]


class VotePublic(BaseModel):
    validator: str
    slot: int
    approve: bool
    segment: int
    committed_digest: str
    recomputed_digest: str
    block_number: int
    tx_hash: str


class AppealPublic(BaseModel):
    """One `JobAppealed`: `round` is the round it started; the appellant paid `bond`."""

    round: int
    appellant: str
    bond: Amount
    attempt: int = Field(description="the job's attempt (its reopen count) the appeal was made in")
    roster_root: str
    block_number: int
    tx_hash: str


class JobDetailPublic(JobPublic):
    timeline: list[ChainEventPublic]
    votes: list[VotePublic]
    appeals: list[AppealPublic] = Field(description="every appeal of the job, oldest first")
    reports: JobReportsPublic = Field(
        description="what providers reported: why they skip it, the energy it used (their own claims)"
    )
