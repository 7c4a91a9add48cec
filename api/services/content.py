"""Verified content from the store, whole or as one HTTP byte range.

Every block is checked against its CID by the store before its bytes are handed out. The first chunk is
read before the response starts, so a damaged or missing first block becomes an error response; damage
found later aborts the transfer (the client sees a short body, never wrong bytes).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass

from api.errors import (
    ContentCorruptedError,
    GatewayError,
    InvalidRequestError,
    NotFoundError,
    RangeNotSatisfiableError,
    ServiceUnavailableError,
)
from jobs.store import (
    BlockNotFound,
    Cid,
    CidMismatch,
    ContentStore,
    CorruptDag,
    InvalidCid,
    KuboUnavailable,
    NotAFile,
    StoreError,
    parse_cid,
)

log = logging.getLogger(__name__)

_RANGE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$", re.IGNORECASE)  # ASCII digits only (RFC 9110 DIGIT)
_ENTITY_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(?:,|$)')
_POSITION_MAX = 10**18
"""Byte positions past this are all alike (larger than any content): read as this, never as huge ints."""


@contextlib.contextmanager
def store_errors() -> Iterator[None]:
    """Turn content-store errors into gateway errors."""
    try:
        yield
    except (CidMismatch, CorruptDag) as exc:
        raise ContentCorruptedError(f"stored content failed verification: {exc}") from exc
    except BlockNotFound as exc:
        raise NotFoundError(str(exc)) from exc
    except (NotAFile, InvalidCid) as exc:
        raise InvalidRequestError(str(exc)) from exc
    except KuboUnavailable as exc:
        raise ServiceUnavailableError(f"content store unavailable: {exc}") from exc
    except StoreError as exc:
        raise GatewayError(f"content store error: {exc}") from exc


def parse_cid_param(text: str) -> Cid:
    try:
        return parse_cid(text)
    except InvalidCid as exc:
        raise InvalidRequestError(f"not a CID we serve: {exc}") from exc


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def _position(digits: str) -> int:
    """A range's byte position; any number with more digits than `_POSITION_MAX` counts as it."""
    significant = digits.lstrip("0")
    return int(significant or "0") if len(significant) <= 18 else _POSITION_MAX


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """One `bytes=` range of `size` bytes; None means the whole content (no or unusable header, RFC 9110).

    Positions are compared, never trusted as sizes: one past the end is a 416, a suffix or a last
    position beyond it is clipped, and an absurdly long number is just a very large one."""
    if not header:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None or match.group(1) == match.group(2) == "":
        return None  # several ranges or another unit: ignored, the whole content is served
    first, last = match.groups()
    if first == "":
        suffix = _position(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiableError(f"range {header[:80]} is empty for {size} bytes", size)
        return ByteRange(max(0, size - suffix), size - 1)
    start = _position(first)
    end = size - 1 if last == "" else min(_position(last), size - 1)
    if last != "" and _position(last) < start:
        return None  # invalid range: ignored
    if start >= size:
        raise RangeNotSatisfiableError(f"range {header[:80]} starts past the end ({size} bytes)", size)
    return ByteRange(start, end)


def entity_tag(cid: Cid) -> str:
    """The strong ETag of a CID's content (content-addressed: it never changes)."""
    return f'"{cid}"'


def _tags(header: str) -> list[tuple[bool, str]]:
    """The (weak, opaque tag) pairs of an `If-None-Match`/`If-Range` list; [] when it does not parse."""
    tags, at = [], 0
    while at < len(header):
        match = _ENTITY_TAG.match(header, at)
        if match is None or match.end() == at:
            return []
        tags.append((match.group(1) is not None, match.group(2)))
        at = match.end()
    return tags


def none_match(header: str | None, cid: Cid) -> bool:
    """Whether `If-None-Match` matches (RFC 9110 13.1.2: `*`, or any listed tag, weakly compared)."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    return any(tag == str(cid) for _, tag in _tags(header))


def range_applies(if_range: str | None, cid: Cid) -> bool:
    """Whether `Range` is honoured under `If-Range` (RFC 9110 13.1.5): only when it names our entity tag,
    strongly compared; a date, a weak or another tag asks for the whole content."""
    if if_range is None:
        return True
    tags = _tags(if_range)
    return len(tags) == 1 and tags[0] == (False, str(cid))


@dataclass
class ContentStream:
    cid: Cid
    size: int
    range: ByteRange | None
    chunks: Iterator[bytes]
    not_modified: bool = False

    @property
    def length(self) -> int:
        return self.range.length if self.range is not None else self.size


def _slice(chunks: Iterator[bytes], start: int, stop: int) -> Iterator[bytes]:
    offset = 0
    for chunk in chunks:
        end = offset + len(chunk)
        if end > start:
            yield chunk[max(0, start - offset) : stop - offset]
        offset = end
        if offset >= stop:
            return


def _logged(cid: Cid, chunks: Iterator[bytes]) -> Iterator[bytes]:
    try:
        yield from chunks
    except StoreError as exc:
        log.error("aborting the transfer of %s: %s", cid, exc)
        raise


def open_content(
    store: ContentStore,
    cid_text: str,
    range_header: str | None = None,
    *,
    if_none_match: str | None = None,
    if_range: str | None = None,
    head: bool = False,
) -> ContentStream:
    """Check the root, evaluate the conditions, resolve the range and read the first chunk (blocking: call
    from a worker thread). In RFC 9110's order: the CID must parse and be stored (400, 404) before
    `If-None-Match` is compared (a match: `not_modified`), then `If-Range` decides whether `Range` applies.
    `head` reads no data, and ignores `Range` as RFC 9110 asks of any method but GET."""
    cid = parse_cid_param(cid_text)
    with store_errors():
        size = store.stat(cid).size
        if none_match(if_none_match, cid):
            return ContentStream(cid, size, None, iter(()), not_modified=True)
        honoured = range_header if not head and range_applies(if_range, cid) else None
        wanted = parse_range(honoured, size)
        if head:
            return ContentStream(cid, size, None, iter(()))
        start, stop = (wanted.start, wanted.end + 1) if wanted is not None else (0, size)
        chunks = _slice(store.cat(cid), start, stop)
        first = next(chunks, b"")
    return ContentStream(cid, size, wanted, _logged(cid, itertools.chain([first], chunks)))
