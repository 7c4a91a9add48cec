"""Where the chain and the market are, for the dApp and other clients."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api.deps import SettingsDep
from api.errors import error_responses
from api.models.config import ConfigPublic
from api.services.client_config import read_client_config

router = APIRouter(prefix="/config", tags=["config"])


@router.get("", response_model=ConfigPublic, responses=error_responses(503))
async def read_config(settings: SettingsDep) -> ConfigPublic:
    """Chain id, public RPC URL, market and token addresses and the deployment block (null until deployed)."""
    return await run_in_threadpool(read_client_config, settings)
