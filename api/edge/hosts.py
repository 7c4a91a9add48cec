"""The `Host` allow-list: a page on another site cannot reach a local gateway through DNS rebinding."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import HostNotAllowedError, error_response


def host_name(host: str) -> str:
    """The name in a `Host` header, lower-cased, without its port (`[::1]:8000` -> `[::1]`)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    if host.count(":") == 1:
        return host.partition(":")[0]
    return host


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    name = host_name(host)
    for entry in allowed:
        entry = entry.strip().lower()
        if entry == "*" or entry == name:
            return True
        if entry.startswith("*.") and name.endswith(entry[1:]):
            return True
    return False


class AllowedHosts:
    """ASGI middleware: a request whose `Host` is not in `allowed_hosts` gets 400 JSON naming the setting."""

    def __init__(self, app: ASGIApp, allowed: Sequence[str]) -> None:
        self.app = app
        self.allowed = [entry.strip().lower() for entry in allowed]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        if host_allowed(host, self.allowed):
            await self.app(scope, receive, send)
            return
        refusal = HostNotAllowedError(
            f"this gateway does not serve the host {host_name(host)!r}; if it should, add it to "
            f"CROWDCOMPUTE_GATEWAY_ALLOWED_HOSTS (now {self.allowed})"
        )
        await error_response(refusal)(scope, receive, send)
