"""Execution logs relayed from providers."""

from __future__ import annotations

from pydantic import BaseModel, Field

from gateway_protocol import LogStream


class LogLineBase(BaseModel):
    seq: int = Field(ge=0, lt=2**63, description="position in the job's log, from 0")
    text: str
    stream: LogStream = "stdout"
    ts: float | None = Field(default=None, description="unix seconds at the provider")


class LogLineCreate(LogLineBase):
    pass


class LogLinePublic(LogLineBase):
    pass


class LogGapPublic(BaseModel):
    """Lines the gateway never received (the provider's spool overflowed, or it dropped a batch)."""

    first: int = Field(ge=0, description="the first missing seq")
    last: int = Field(ge=0, description="the last missing seq (inclusive)")


class LogBatchCreate(BaseModel):
    lines: list[LogLineCreate] = Field(min_length=1)


class LogBatchAccepted(BaseModel):
    accepted: int
    duplicates: int
    next_seq: int


class LogLinesPublic(BaseModel):
    data: list[LogLinePublic]
    count: int
    gaps: list[LogGapPublic] = Field(
        default_factory=list,
        description="missing ranges among the lines returned (from `after` + 1 to the last line), in order",
    )
    next_seq: int = Field(description="one past the highest seq stored (0 for an empty log)")
    job_state: str
