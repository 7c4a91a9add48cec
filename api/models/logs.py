"""Execution logs relayed from providers."""

from __future__ import annotations

from pydantic import BaseModel, Field

from gateway_protocol import LogStream


class LogLineBase(BaseModel):
    seq: int = Field(ge=0, lt=2**63, description="position in the job's log, from 0, without gaps")
    text: str
    stream: LogStream = "stdout"
    ts: float | None = Field(default=None, description="unix seconds at the provider")


class LogLineCreate(LogLineBase):
    pass


class LogLinePublic(LogLineBase):
    pass


class LogBatchCreate(BaseModel):
    lines: list[LogLineCreate] = Field(min_length=1)


class LogBatchAccepted(BaseModel):
    accepted: int
    duplicates: int
    next_seq: int


class LogLinesPublic(BaseModel):
    data: list[LogLinePublic]
    count: int
    next_seq: int = Field(description="the seq the next stored line will have")
    job_state: str
