"""Job bundles: upload (repacked canonically, manifest validated, then stored and pinned) and manifests."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api.deps import GatewayDep, UploaderDep
from api.errors import error_responses
from api.models.bundles import BundlePublic, ManifestPublic
from api.services import uploads

router = APIRouter(prefix="/bundles", tags=["bundles"])

_MULTIPART_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "the job folder as .tar, .tar.gz or .zip",
                        }
                    },
                }
            }
        },
    }
}


@router.post(
    "",
    response_model=BundlePublic,
    status_code=201,
    openapi_extra=_MULTIPART_BODY,
    responses=error_responses(400, 401, 403, 413, 422, 429, 503),
)
async def create_bundle(request: Request, caller: UploaderDep, gateway: GatewayDep) -> BundlePublic:
    """Upload a job folder; returns its CID once the manifest is valid and the bundle is stored and pinned."""
    return await uploads.create_bundle(gateway, request, caller)


@router.get("/{cid}/manifest", response_model=ManifestPublic, responses=error_responses(400, 404, 422, 500))
async def read_bundle_manifest(cid: str, gateway: GatewayDep) -> ManifestPublic:
    """The manifest inside a stored bundle."""
    return await run_in_threadpool(uploads.read_manifest, gateway, cid)
