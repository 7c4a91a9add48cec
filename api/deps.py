"""Route dependencies, as `Annotated` aliases a handler names in its signature.

The cheap ones are `async def` so FastAPI runs them on the event loop instead of a worker thread.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.db import Database
from api.edge.proxies import client_ip as edge_client_ip
from api.gateway import Gateway
from api.services.auth import Caller
from api.services.quotas import require_stake
from api.settings import Settings
from jobs.store import ContentStore


async def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


async def get_settings(gateway: GatewayDep) -> Settings:
    return gateway.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_database(gateway: GatewayDep) -> Database:
    """The database; query it in a worker thread (`run_in_threadpool(db.snapshot, ...)`)."""
    return gateway.db


DatabaseDep = Annotated[Database, Depends(get_database)]


async def get_store(gateway: GatewayDep) -> ContentStore:
    return gateway.store


StoreDep = Annotated[ContentStore, Depends(get_store)]


async def client_ip(request: Request, settings: SettingsDep) -> str:
    """The client's address: the TCP peer, or behind `trusted_proxies` the right-most untrusted
    `X-Forwarded-For` hop (the same answer the edge's limits use: `api.edge.proxies.client_ip`)."""
    return edge_client_ip(request.scope, settings.trusted_proxies)


ClientIpDep = Annotated[str, Depends(client_ip)]


def require_signed_request(request: Request, gateway: GatewayDep, ip: ClientIpDep) -> Caller:
    """A write request's caller: an API key or a signed `Request` naming this request's Host and the body's
    SHA-256 (401/403/429 otherwise); checked before the body is read, the hash as the body streams in."""
    return gateway.auth.authenticate_request(request.method, request.url.path, request.headers, ip)


WriterDep = Annotated[Caller, Depends(require_signed_request)]


# uploads
def require_uploader(request: Request, gateway: GatewayDep, ip: ClientIpDep) -> Caller:
    """`POST /bundles`'s caller: an API key, or a signed `Request` from an address with tokens at stake
    (`api.services.quotas`); a fresh key is refused (403) before its nonce is recorded or its body read."""
    return gateway.auth.authenticate_request(
        request.method,
        request.url.path,
        request.headers,
        ip,
        admit=lambda caller: require_stake(gateway.settings, gateway.upload_stake, caller),
    )


UploaderDep = Annotated[Caller, Depends(require_uploader)]
