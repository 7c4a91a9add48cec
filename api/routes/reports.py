"""Provider reports: why a provider skips an open job, and the energy a job used (the provider's claim)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api.deps import ClientIpDep, GatewayDep
from api.errors import error_responses
from api.models.common import JobIdPath
from api.models.reports import ProviderReportCreate, ReportAccepted
from api.services import reports

router = APIRouter(prefix="/jobs", tags=["reports"])

REPORT_BODY_MAX_BYTES = 16 * 1024


@router.post(
    "/{job_id}/reports",
    response_model=ReportAccepted,
    max_body_size=REPORT_BODY_MAX_BYTES,
    responses=error_responses(400, 401, 403, 404, 429),
)
async def create_report(
    job_id: JobIdPath, report: ProviderReportCreate, request: Request, gateway: GatewayDep, ip: ClientIpDep
) -> ReportAccepted:
    """Store a provider's report on a job. Signed `ProviderReport` by a registered provider (see
    `gateway_protocol`); an energy report only by a provider that claimed the job."""
    body = await request.body()
    return await run_in_threadpool(reports.store_report, gateway, job_id, report, body, request.headers, ip)
