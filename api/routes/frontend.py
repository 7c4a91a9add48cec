"""The dApp: the built files under `frontend/dist` with an SPA fallback, or a placeholder page.

Every path outside the API's prefixes answers `index.html`, so a page's URL works as a deep link and on
reload; the pages whose paths the API also answers (`/jobs/12`) go to browser navigations through
`api.pages`. A path under an API prefix that no route answers (`/bundles`, `/jobs/1/nope`) is a 404 JSON
error, never the dApp's HTML.
Built chunks (`/assets/`, names carrying a content hash) are cached for good; `index.html` is
revalidated, so a new build's chunks are picked up at once.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.deps import SettingsDep
from api.errors import NotFoundError

router = APIRouter(tags=["frontend"])

ASSETS = "assets"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

PLACEHOLDER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>crowdcompute gateway</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>crowdcompute gateway</h1>
<p>The dApp is not built yet (<code>frontend/dist</code> is missing): run <code>make setup</code>.</p>
<p>The API is here: <a href="/docs">/docs</a> (OpenAPI: <a href="/openapi.json">/openapi.json</a>),
health at <a href="/healthz">/healthz</a>, readiness at <a href="/readyz">/readyz</a>.</p>
</body></html>
"""


@router.get(
    "/",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
)
def read_index(settings: SettingsDep) -> Response:
    """The dApp's index page, or a placeholder until it is built."""
    index = settings.frontend_dist / "index.html"
    if index.is_file():
        return _index(index)
    return HTMLResponse(PLACEHOLDER)


def api_prefixes(app: FastAPI) -> frozenset[str]:
    """The first path segments the API owns (`jobs`, `openapi.json`, `docs`, ...): those of the paths
    in its OpenAPI schema and of the app's own routes outside it (the schema, the explorer)."""
    paths = [*app.openapi()["paths"], *(getattr(route, "path", "") for route in app.routes)]
    firsts = (str(path).lstrip("/").split("/", 1)[0] for path in paths)
    return frozenset(first for first in firsts if first and not first.startswith("{"))


@router.get("/{path:path}", include_in_schema=False)
def read_frontend_file(path: str, request: Request, settings: SettingsDep) -> Response:
    """A built asset, or index.html for the dApp's pages (client-side routing)."""
    if path.split("/", 1)[0] in api_prefixes(request.app):
        raise NotFoundError(f"no API route answers GET /{path}; the API's paths are listed at /docs")
    root = settings.frontend_dist.resolve()
    index = root / "index.html"
    if not index.is_file():
        raise NotFoundError(f"no route {path!r}")
    candidate = (root / path).resolve()
    if candidate.is_relative_to(root) and candidate.is_file():
        immutable = candidate.is_relative_to(root / ASSETS)
        return FileResponse(candidate, headers={"Cache-Control": IMMUTABLE if immutable else REVALIDATE})
    if path.startswith(f"{ASSETS}/"):
        # A chunk of another build (a page open since an upgrade): a 404, not HTML in place of a script.
        raise NotFoundError(f"no file {path!r} in the dApp's build")
    return _index(index)


def _index(index: Path) -> Response:
    return FileResponse(index, media_type="text/html", headers={"Cache-Control": REVALIDATE})
