"""The gateway's edge: what every request meets before a route sees it.

`install_edge(app, settings)` adds, outermost first: security headers (`headers`), the limits
(`limits`: rates, requests in progress, failed authentications, body sizes and pauses), the `Host`
allow-list (`hosts`); and the locally served API explorer (`docs`). `server` holds the uvicorn setup
(request-head timeout, keep-alive, connection and header limits); `proxies` names the client.
"""

from __future__ import annotations

from fastapi import FastAPI

from api.edge.docs import DOCS_PATH, install_docs
from api.edge.headers import SecurityHeaders, content_security_policy
from api.edge.hosts import AllowedHosts
from api.edge.limits import EdgeLimits
from api.settings import Settings

__all__ = ["install_edge"]


def install_edge(app: FastAPI, settings: Settings) -> None:
    """Call after the app's own middleware and before its catch-all route (the dApp's fallback)."""
    docs_scripts = install_docs(app)
    app.add_middleware(AllowedHosts, allowed=settings.allowed_hosts)
    app.add_middleware(EdgeLimits, settings=settings)
    app.add_middleware(
        SecurityHeaders,
        csp=content_security_policy(settings),
        policies={DOCS_PATH: content_security_policy(settings, script_hashes=docs_scripts, rpc_node=False)},
    )
