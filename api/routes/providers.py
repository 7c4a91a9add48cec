"""Providers from the index."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from api.deps import DatabaseDep
from api.errors import error_responses
from api.models.accounts import ProviderDetailPublic, ProvidersPublic
from api.models.common import OffsetQuery
from api.services import queries

router = APIRouter(prefix="/providers", tags=["providers"])


@router.get("", response_model=ProvidersPublic)
async def read_providers(
    db: DatabaseDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: OffsetQuery = 0,
) -> ProvidersPublic:
    """Registered providers with their capabilities, stake and record."""
    return await run_in_threadpool(db.snapshot, queries.list_providers, limit=limit, offset=offset)


@router.get("/{address}", response_model=ProviderDetailPublic, responses=error_responses(404))
async def read_provider(
    address: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{40}$")], db: DatabaseDep
) -> ProviderDetailPublic:
    """One provider: capabilities, stake and collateral locked, completed jobs, earnings, recent jobs."""
    return await run_in_threadpool(db.snapshot, queries.read_provider, address)
