"""The log relay: providers push a job's execution logs; anyone reads or follows them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.deps import ClientIpDep, GatewayDep
from api.errors import error_responses
from api.models.common import INT64_MAX, JobIdPath
from api.models.logs import LogBatchAccepted, LogBatchCreate, LogLinesPublic
from api.services import logs as relay

router = APIRouter(prefix="/jobs", tags=["logs"])

LOG_BODY_MAX_BYTES = 8 * 1024 * 1024


@router.post(
    "/{job_id}/logs",
    response_model=LogBatchAccepted,
    max_body_size=LOG_BODY_MAX_BYTES,
    responses=error_responses(400, 401, 403, 404, 409, 429),
)
async def create_log_lines(
    job_id: JobIdPath, batch: LogBatchCreate, request: Request, gateway: GatewayDep, ip: ClientIpDep
) -> LogBatchAccepted:
    """Append lines to a job's log. Signed `LogBatch` by the job's provider (see `gateway_protocol`).

    Each seq is stored once: the same line again is counted as a duplicate, other content at a stored seq
    is a conflict (409, naming where the log continues). Seqs a provider skips stay gaps."""
    body = await request.body()
    return await run_in_threadpool(relay.push_lines, gateway, job_id, batch, body, request.headers, ip)


@router.get(
    "/{job_id}/logs",
    response_model=LogLinesPublic,
    responses={
        200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}},
        **error_responses(404),
    },
)
async def read_log_lines(
    job_id: JobIdPath,
    gateway: GatewayDep,
    follow: bool = False,
    after: Annotated[int, Query(ge=-1, le=INT64_MAX, description="return lines with a greater seq")] = -1,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    last_event_id: Annotated[int | None, Header(ge=-1, le=INT64_MAX)] = None,
) -> Any:
    """Stored lines and the gaps among them; with `follow=true`, Server-Sent Events (`log`, `gap`, `end`)
    until the job reaches a terminal state, resuming after `Last-Event-ID` (or `after`)."""
    db = gateway.db
    if not follow:
        return await run_in_threadpool(db.snapshot, relay.read_lines, job_id, after=after, limit=limit)
    await run_in_threadpool(db.snapshot, relay.get_job_state, job_id)
    stream = relay.follow_lines(
        gateway.db,
        job_id,
        after=last_event_id if last_event_id is not None else after,
        heartbeat_s=gateway.settings.sse_heartbeat_s,
        poll_s=gateway.settings.sse_poll_s,
    )
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
