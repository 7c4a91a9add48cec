"""The gateway application: `create_app(settings)` wires routers, middleware, errors and the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api.edge import install_edge
from api.errors import install_error_handlers
from api.gateway import Gateway
from api.indexer.runner import SourceFactory
from api.jsonlog import AccessLogMiddleware
from api.pages import SharedPathPages
from api.routes import (
    bundles,
    config,
    frontend,
    health,
    ipfs,
    jobs,
    logs,
    providers,
    reports,
    results,
    schema,
    stats,
    validators,
    votes,
)
from api.settings import Settings


def create_app(settings: Settings | None = None, *, source_factory: SourceFactory | None = None) -> FastAPI:
    settings = settings if settings is not None else Settings()
    gateway = Gateway(settings, source_factory=source_factory)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        gateway.start()
        try:
            yield
        finally:
            gateway.close()

    app = FastAPI(
        title="crowdcompute gateway",
        version="1",
        description="Bundle uploads, verified content, the index of market events, and the log relay.",
        lifespan=lifespan,
        docs_url=None,  # served by api.edge from the pinned swagger-ui-bundle, no CDN
        redoc_url=None,
    )
    app.state.gateway = gateway
    install_error_handlers(app)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["*"],
        expose_headers=["ETag", "Content-Range", "Content-Length", "Accept-Ranges", "Retry-After"],
    )
    app.add_middleware(SharedPathPages, index=settings.frontend_dist / "index.html")
    app.add_middleware(AccessLogMiddleware)
    for module in (
        health,
        config,
        bundles,
        ipfs,
        schema,
        jobs,
        logs,
        reports,
        votes,
        providers,
        validators,
        stats,
    ):
        app.include_router(module.router)
    app.include_router(results.router)
    install_edge(app, settings)  # outermost middleware; /docs before the catch-all
    app.include_router(frontend.router)  # last: its catch-all serves the dApp's client-side routes
    return app
