"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import GatewayDep
from api.models.health import HealthPublic, ReadinessPublic

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthPublic)
async def read_health() -> HealthPublic:
    """The process is up and serving."""
    return HealthPublic()


@router.get("/readyz", response_model=ReadinessPublic, responses={503: {"model": ReadinessPublic}})
async def read_readiness(gateway: GatewayDep, response: Response) -> ReadinessPublic:
    """Ready when the RPC answers, a deployment is known and the index is caught up; else 503 saying why
    (never the RPC URL). Answered from a check at most `readiness_cache_s` old."""
    readiness = await gateway.readiness.get()
    if not readiness.ready:
        response.status_code = 503
    return readiness
