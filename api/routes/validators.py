"""Validators from the index."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from api.deps import DatabaseDep
from api.models.accounts import ValidatorsPublic
from api.models.common import OffsetQuery
from api.services import queries

router = APIRouter(prefix="/validators", tags=["validators"])


@router.get("", response_model=ValidatorsPublic)
async def read_validators(
    db: DatabaseDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: OffsetQuery = 0,
    include_left: Annotated[bool, Query(description="also those that left the roster")] = False,
) -> ValidatorsPublic:
    """Live validators (on the roster) with their leaf, weight (bonded stake), votes and earnings."""
    return await run_in_threadpool(
        db.snapshot, queries.list_validators, limit=limit, offset=offset, include_left=include_left
    )
