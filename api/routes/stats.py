"""Market totals from the index."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api.deps import DatabaseDep
from api.models.accounts import StatsPublic
from api.services import queries

router = APIRouter(prefix="/stats", tags=["stats"])


@router.get("", response_model=StatsPublic)
async def read_stats(db: DatabaseDep) -> StatsPublic:
    """Jobs by state, providers, validators, votes, money posted, paid and slashed."""
    return await run_in_threadpool(db.snapshot, queries.read_stats)
