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

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


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


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """One `bytes=` range of `size` bytes; None means the whole content (no or unusable header, RFC 9110)."""
    if not header:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None or match.group(1) == match.group(2) == "":
        return None  # several ranges or another unit: ignored, the whole content is served
    first, last = match.groups()
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiableError(f"range {header} is empty for {size} bytes", size)
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if last != "" and int(last) < start:
        return None  # invalid range: ignored
    if start >= size:
        raise RangeNotSatisfiableError(f"range {header} starts past the end ({size} bytes)", size)
    return ByteRange(start, end)


@dataclass
class ContentStream:
    cid: Cid
    size: int
    range: ByteRange | None
    chunks: Iterator[bytes]

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


def open_content(store: ContentStore, cid_text: str, range_header: str | None) -> ContentStream:
    """Check the root, resolve the range and read the first chunk (blocking: call from a worker thread)."""
    cid = parse_cid_param(cid_text)
    with store_errors():
        size = store.stat(cid).size
        wanted = parse_range(range_header, size)
        start, stop = (wanted.start, wanted.end + 1) if wanted is not None else (0, size)
        chunks = _slice(store.cat(cid), start, stop)
        first = next(chunks, b"")
    return ContentStream(cid, size, wanted, _logged(cid, itertools.chain([first], chunks)))
