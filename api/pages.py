"""The dApp's pages on the paths the API also answers (`/jobs`, `/jobs/12`, `/providers/0x…`).

A browser navigating to such a path asks for HTML (`Accept: text/html,…`) and gets the dApp's
`index.html`, so a page's URL works as a deep link and on reload; every other client (the dApp's own
fetches, the requester library, curl: `Accept: application/json` or `*/*`) gets the API's JSON as before.
Both answers say `Vary: Accept`, and the JSON is never stored (`no-store`), so no cache, the browser's
back button included, can hand one out for the other.
"""

from __future__ import annotations

import re
from pathlib import Path

from starlette.responses import FileResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SHARED_PATHS = re.compile(r"^/(jobs|providers)(/[^/]+)?/?$")
"""Paths that are both an API resource and a page of the dApp."""

PAGE_CACHE = "no-cache"


def wants_page(method: str, path: str, accept: str) -> bool:
    """A browser navigation to a page the API shares its path with."""
    return method in ("GET", "HEAD") and bool(SHARED_PATHS.match(path)) and "text/html" in accept


class SharedPathPages:
    """ASGI middleware: on a shared path, HTML navigations get `index.html`, the rest reaches the API."""

    def __init__(self, app: ASGIApp, index: Path) -> None:
        self.app = app
        self.index = index

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not SHARED_PATHS.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        accept = dict(scope["headers"]).get(b"accept", b"").decode("latin-1")
        if wants_page(scope["method"], scope["path"], accept) and self.index.is_file():
            headers = {"Cache-Control": PAGE_CACHE, "Vary": "Accept"}
            await FileResponse(self.index, media_type="text/html", headers=headers)(scope, receive, send)
            return

        async def send_json(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                message["headers"] = [*headers, (b"vary", b"Accept"), (b"cache-control", b"no-store")]
            await send(message)

        await self.app(scope, receive, send_json)
