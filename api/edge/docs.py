"""The API explorer at `/docs`: Swagger UI from the pinned `swagger-ui-bundle` package, served here.

Nothing is fetched from a CDN; the page's one inline script is allowed by its hash in the page's CSP.
Swagger UI 4 refuses documents labelled OpenAPI 3.1 (FastAPI's), though it renders ours: the explorer
reads `/docs/openapi.json`, the same schema labelled 3.0.3; `/openapi.json` stays the real one.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"
EXPLORER_SCHEMA_PATH = "/docs/openapi.json"
EXPLORER_OPENAPI_VERSION = "3.0.3"

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def explorer_page(app: FastAPI) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=EXPLORER_SCHEMA_PATH,
        title=f"{app.title} - API explorer",
        swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
    )


def inline_script_hashes(page: HTMLResponse) -> tuple[str, ...]:
    """CSP source expressions (`sha256-...`) of the page's inline scripts."""
    text = bytes(page.body).decode()
    return tuple(
        "sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        for script in _INLINE_SCRIPT.findall(text)
    )


def install_docs(app: FastAPI) -> tuple[str, ...]:
    """Serve the explorer at `/docs` and its files under `/docs/assets/`; returns its scripts' hashes."""
    page = explorer_page(app)
    body = bytes(page.body)

    @app.get(DOCS_PATH, include_in_schema=False)
    async def read_api_explorer() -> HTMLResponse:
        return HTMLResponse(body, headers={"Cache-Control": "no-cache"})

    @app.get(EXPLORER_SCHEMA_PATH, include_in_schema=False)
    async def read_explorer_schema() -> dict[str, Any]:
        return {**app.openapi(), "openapi": EXPLORER_OPENAPI_VERSION}

    app.mount(ASSETS_PATH, StaticFiles(directory=str(swagger_ui_path)), name="api-explorer-assets")
    return inline_script_hashes(page)
