"""JSON schemas clients validate against before uploading."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from jobs.manifest import manifest_json_schema

router = APIRouter(prefix="/schema", tags=["schema"])


@router.get("/manifest", response_model=dict[str, Any])
def read_manifest_schema() -> dict[str, Any]:
    """The JSON schema of a job manifest (`job.toml`), as the gateway validates it at upload."""
    return manifest_json_schema()
