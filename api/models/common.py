"""Models shared by several routes: errors and field problems."""

from __future__ import annotations

from pydantic import BaseModel


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
