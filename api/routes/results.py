"""Results published by the job's provider, so that anyone finds them by CID at `/ipfs/{cid}`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api.deps import GatewayDep, WriterDep
from api.errors import error_responses
from api.models.common import JobIdPath
from api.models.results import ResultPublic
from api.services import results

router = APIRouter(prefix="/jobs", tags=["results"])

_TAR_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-tar": {
                "schema": {"type": "string", "format": "binary", "description": "the packed result"}
            }
        },
    }
}


@router.post(
    "/{job_id}/results/{cid}",
    response_model=ResultPublic,
    status_code=201,
    openapi_extra=_TAR_BODY,
    responses=error_responses(400, 401, 403, 404, 413, 429, 503),
)
async def create_result(
    job_id: JobIdPath, cid: str, request: Request, caller: WriterDep, gateway: GatewayDep
) -> ResultPublic:
    """Publish a job's result (signed `Request` by the job's provider); stored and pinned once its bytes
    are the content of `cid` and within the manifest's `outputs.max_size_mib`."""
    return await results.create_result(gateway, request, caller, job_id, cid)
