"""Execution logs relayed from providers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from gateway_protocol import LogStream


class LogLineBase(BaseModel):
    seq: int = Field(ge=0, lt=2**63, description="position in the job's log, from 0")
    text: str
    stream: LogStream = "stdout"
    ts: float | None = Field(
        default=None, allow_inf_nan=False, description="unix seconds at the provider (finite)"
    )


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
    truncated: bool = Field(
        default=False,
        description="the page stopped before `limit` lines: it reached the gateway's page size in bytes",
    )
    next_after: int | None = Field(
        default=None,
        description="more lines may follow: ask again with `after` set to this; null when the page reached "
        "the end of the stored log",
    )


def inline_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s JSON schema with its `$defs` written in place, for an OpenAPI `requestBody` that does not
    come from a declared body parameter (the route reads the raw body itself)."""
    schema = model.model_json_schema()
    defs: dict[str, Any] = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved
