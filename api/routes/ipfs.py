"""Verified content by CID, with HTTP ranges."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.deps import StoreDep
from api.errors import error_responses
from api.services.content import open_content

router = APIRouter(prefix="/ipfs", tags=["content"])

_BINARY = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}


@router.get(
    "/{cid}",
    response_class=StreamingResponse,
    responses={
        200: {"description": "the whole content", "content": _BINARY},
        206: {"description": "the requested byte range", "content": _BINARY},
        304: {"description": "not modified (If-None-Match matched the CID)"},
        **error_responses(400, 404, 416, 500, 503),
    },
)
async def read_content(
    cid: str,
    store: StoreDep,
    range: Annotated[str | None, Header()] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The file behind a CID; every block is verified against its CID before a byte of it is sent."""
    if if_none_match is not None and if_none_match.strip('"') == cid:
        return Response(status_code=304, headers={"ETag": f'"{cid}"'})
    content = await run_in_threadpool(open_content, store, cid, range)
    headers = {
        "ETag": f'"{cid}"',
        "Accept-Ranges": "bytes",
        "Content-Length": str(content.length),
        "Cache-Control": "public, max-age=31536000, immutable",
        "X-Content-Type-Options": "nosniff",
    }
    if content.range is not None:
        headers["Content-Range"] = f"bytes {content.range.start}-{content.range.end}/{content.size}"
    return StreamingResponse(
        content.chunks,
        status_code=206 if content.range is not None else 200,
        media_type="application/octet-stream",
        headers=headers,
    )
