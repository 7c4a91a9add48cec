"""Jobs from the index."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from api.deps import DatabaseDep
from api.errors import error_responses
from api.models.common import JobIdPath, OffsetQuery
from api.models.jobs import JobDetailPublic, JobsPublic, JobStateName
from api.services import queries

router = APIRouter(prefix="/jobs", tags=["jobs"])

Address = Annotated[str | None, Query(pattern=r"^0x[0-9a-fA-F]{40}$")]


@router.get("", response_model=JobsPublic)
async def read_jobs(
    db: DatabaseDep,
    state: JobStateName | None = None,
    requester: Address = None,
    provider: Address = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: OffsetQuery = 0,
) -> JobsPublic:
    """Jobs, newest first, filtered by state, requester or provider; `count` is the total that match."""
    return await run_in_threadpool(
        db.snapshot,
        queries.list_jobs,
        state=state,
        requester=requester,
        provider=provider,
        limit=limit,
        offset=offset,
    )


@router.get("/{job_id}", response_model=JobDetailPublic, responses=error_responses(404))
async def read_job(job_id: JobIdPath, db: DatabaseDep) -> JobDetailPublic:
    """One job: its spec, state, every event of its timeline and the votes with their evidence."""
    return await run_in_threadpool(db.snapshot, queries.read_job, job_id)
