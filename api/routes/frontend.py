"""The dApp: the built files under `frontend/dist` with an SPA fallback, or a placeholder page."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.deps import SettingsDep
from api.errors import NotFoundError

router = APIRouter(tags=["frontend"])

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
        return FileResponse(index, media_type="text/html")
    return HTMLResponse(PLACEHOLDER)


@router.get("/{path:path}", include_in_schema=False)
def read_frontend_file(path: str, settings: SettingsDep) -> Response:
    """A built asset, or index.html for the dApp's own routes (client-side routing)."""
    root = settings.frontend_dist.resolve()
    index = root / "index.html"
    if not index.is_file():
        raise NotFoundError(f"no route {path!r}")
    candidate = (root / path).resolve()
    if candidate.is_relative_to(root) and candidate.is_file():
        return FileResponse(candidate)
    return FileResponse(index, media_type="text/html")
