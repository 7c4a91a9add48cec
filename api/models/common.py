"""Models shared by several routes: errors, field problems, and the bounded integers of paths and queries."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import BaseModel

from chain import JobId

INT64_MAX = 2**63 - 1
"""The largest integer SQLite stores; every integer a client sends is bounded by it (or less) at validation,
so a huge number is a 422 naming the parameter, never an overflow deep in a query."""

JobIdPath = Annotated[
    JobId, Path(ge=0, le=INT64_MAX, description="the job's id on chain (0 to 2**63 - 1 on this gateway)")
]
"""A job id in a route's path."""

OffsetQuery = Annotated[int, Query(ge=0, le=INT64_MAX, description="how many matches to skip")]
"""A page's offset."""


class FieldProblem(BaseModel):
    field: str
    message: str
    value: str | None = None


class ErrorPublic(BaseModel):
    code: str
    detail: str
    problems: list[FieldProblem] | None = None


class Message(BaseModel):
    message: str
