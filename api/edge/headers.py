"""Security headers on every response: a Content-Security-Policy for the dApp (and a stricter-tailored
one for the API explorer), no framing, no referrer, no MIME sniffing."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.settings import Settings


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) or ws(s) URL, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def content_security_policy(
    settings: Settings, *, script_hashes: tuple[str, ...] = (), rpc_node: bool = True
) -> str:
    """The dApp's policy: its own files only, plus the RPC node `GET /config` sends browsers to.

    Inline styles are allowed (the dApp's components set `style=`); inline scripts only by hash; no eval
    (the dApp's manifest validator is compiled at build time, `frontend/scripts/generate.mjs`)."""
    rpc = origin_of(settings.public_rpc_url or settings.rpc_url) if rpc_node else None
    scripts = " ".join(["'self'", *(f"'{h}'" for h in script_hashes)])
    directives = {
        "default-src": "'self'",
        "script-src": scripts,
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data:",
        "connect-src": " ".join(["'self'", *([rpc] if rpc else [])]),
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class SecurityHeaders:
    """ASGI middleware: the headers below on every HTTP response; `policies` overrides the CSP by path."""

    def __init__(self, app: ASGIApp, csp: str, policies: dict[str, str] | None = None) -> None:
        self.app = app
        self.csp = csp
        self.policies = policies or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = self.policies.get(scope["path"], self.csp)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = csp
                headers["X-Frame-Options"] = "DENY"
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
            await send(message)

        await self.app(scope, receive, send_with_headers)
