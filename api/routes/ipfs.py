"""Verified content by CID, with HTTP ranges and conditional requests (RFC 9110)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.deps import StoreDep
from api.errors import error_responses
from api.services.content import ContentStream, entity_tag, open_content

router = APIRouter(prefix="/ipfs", tags=["content"])

_BINARY = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
_NOT_MODIFIED = {"description": "not modified (If-None-Match named this content's ETag, or was `*`)"}


def _headers(content: ContentStream) -> dict[str, str]:
    headers = {
        "ETag": entity_tag(content.cid),
        "Cache-Control": "public, max-age=31536000, immutable",
    }
    if content.not_modified:
        return headers
    headers |= {
        "Accept-Ranges": "bytes",
        "Content-Length": str(content.length),
        "X-Content-Type-Options": "nosniff",
    }
    if content.range is not None:
        headers["Content-Range"] = f"bytes {content.range.start}-{content.range.end}/{content.size}"
    return headers


@router.get(
    "/{cid}",
    response_class=StreamingResponse,
    responses={
        200: {"description": "the whole content", "content": _BINARY},
        206: {"description": "the requested byte range", "content": _BINARY},
        304: _NOT_MODIFIED,
        **error_responses(400, 404, 416, 500, 503),
    },
)
async def read_content(
    cid: str,
    store: StoreDep,
    range: Annotated[str | None, Header()] = None,
    if_none_match: Annotated[str | None, Header()] = None,
    if_range: Annotated[str | None, Header()] = None,
) -> Response:
    """The file behind a CID; every block is verified against its CID before a byte of it is sent.

    One `bytes=` range is served (206); `If-Range` other than this content's ETag asks for all of it."""
    content = await run_in_threadpool(
        open_content, store, cid, range, if_none_match=if_none_match, if_range=if_range
    )
    if content.not_modified:
        return Response(status_code=304, headers=_headers(content))
    return StreamingResponse(
        content.chunks,
        status_code=206 if content.range is not None else 200,
        media_type="application/octet-stream",
        headers=_headers(content),
    )


@router.head(
    "/{cid}",
    responses={
        200: {
            "description": "the headers of the whole content (GET's), without the content",
            "content": _BINARY,
        },
        304: _NOT_MODIFIED,
        **error_responses(400, 404, 500, 503),
    },
)
async def read_content_headers(
    cid: str, store: StoreDep, if_none_match: Annotated[str | None, Header()] = None
) -> Response:
    """The headers of `GET /ipfs/{cid}` (length, ETag, caching) without the content."""
    content = await run_in_threadpool(open_content, store, cid, if_none_match=if_none_match, head=True)
    if content.not_modified:
        return Response(status_code=304, headers=_headers(content))
    return Response(media_type="application/octet-stream", headers=_headers(content))
