"""The log relay: providers push a job's execution logs; anyone reads or follows them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from starlette.concurrency import run_in_threadpool

from api.deps import ClientIpDep, GatewayDep
from api.errors import error_responses
from api.models.common import INT64_MAX, JobIdPath
from api.models.logs import LogBatchAccepted, LogBatchCreate, LogLinesPublic, inline_json_schema
from api.services import logs as relay
from api.services.auth import ensure_address
from api.services.log_streams import LogEventStream
from api.services.queries import get_job_state

router = APIRouter(prefix="/jobs", tags=["logs"])

LOG_BODY_MAX_BYTES = 8 * 1024 * 1024


@router.post(
    "/{job_id}/logs",
    response_model=LogBatchAccepted,
    max_body_size=LOG_BODY_MAX_BYTES,
    responses=error_responses(400, 401, 403, 404, 409, 413, 429),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": inline_json_schema(LogBatchCreate)}},
        }
    },
)
async def create_log_lines(
    job_id: JobIdPath, request: Request, gateway: GatewayDep, ip: ClientIpDep
) -> LogBatchAccepted:
    """Append lines to a job's log (body: `LogBatchCreate`). Signed `LogBatch` by the job's provider (see
    `gateway_protocol`), or an API key bound to the provider's address.

    Each seq is stored once: the same line again is counted as a duplicate, other content at a stored seq
    is a conflict (409, naming where the log continues). Seqs a provider skips stay gaps."""
    # Who is asking and whether they may is settled from the headers, before a byte of the body is read.
    claim = gateway.auth.claim_log_batch(request.headers, ip)
    _, provider = await run_in_threadpool(gateway.db.snapshot, get_job_state, job_id)
    ensure_address(claim, provider, f"job {job_id}'s log")
    gateway.auth.limit_log_batch(claim)
    body = await request.body()
    return await run_in_threadpool(relay.push_lines, gateway, job_id, claim, body)


@router.get(
    "/{job_id}/logs",
    response_model=LogLinesPublic,
    responses={
        200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}},
        **error_responses(404, 429, 503),
    },
)
async def read_log_lines(
    job_id: JobIdPath,
    gateway: GatewayDep,
    ip: ClientIpDep,
    follow: bool = False,
    after: Annotated[int, Query(ge=-1, le=INT64_MAX, description="return lines with a greater seq")] = -1,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    last_event_id: Annotated[int | None, Header(ge=-1, le=INT64_MAX)] = None,
) -> Any:
    """Stored lines and the gaps among them, at most `limit` lines and about `log_page_max_bytes` bytes a
    page (`truncated`; go on with `after=next_after` while it is set); with `follow=true`, Server-Sent
    Events (`log`, `gap`, `end`) until the job reaches a terminal state, resuming after `Last-Event-ID` (or
    `after`). A client may hold a few streams at once (429 beyond), the gateway a bounded number (503)."""
    db = gateway.db
    settings = gateway.settings
    if not follow:
        return await run_in_threadpool(
            db.snapshot,
            relay.read_lines,
            job_id,
            after=after,
            limit=limit,
            max_bytes=settings.log_page_max_bytes,
        )
    await run_in_threadpool(db.snapshot, relay.get_job_state, job_id)
    slot = gateway.log_streams.acquire(ip)
    stream = relay.follow_lines(
        db,
        job_id,
        after=last_event_id if last_event_id is not None else after,
        heartbeat_s=settings.sse_heartbeat_s,
        poll_s=settings.sse_poll_s,
        executor=gateway.log_streams.pollers,
    )
    return LogEventStream(
        stream,
        slot=slot,
        send_timeout_s=settings.sse_send_timeout_s,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
