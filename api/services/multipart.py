"""Stream one file out of a multipart/form-data request body into a file on disk, with size caps.

The body never sits in memory: chunks go from the socket through the parser to the file, and the request
fails with 413 as soon as the whole body passes the cap, the file part passes its own, or another part
passes `FIELD_MAX_BYTES` (or at once when Content-Length already says so). One `file` part only.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header

from api.errors import GatewayError, InvalidRequestError, UploadTooLargeError

FILE_FIELD = "file"
_FORM_OVERHEAD = 64 * 1024
"""Room for boundaries, part headers and the small fields on top of the file itself: the whole body's cap
is `max_bytes + _FORM_OVERHEAD`, counted while it streams."""
FIELD_MAX_BYTES = 4 * 1024
"""The most a part other than `file` may hold (the form has no other field the gateway reads)."""
MAX_PARTS = 16
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() also takes "²", which int() refuses


@dataclass(frozen=True)
class ReceivedFile:
    path: Path
    filename: str | None
    size: int
    sha256: str
    """0x + the hex SHA-256 of the file part's bytes (what a signed upload's `bodyHash` covers)."""


class _FilePartWriter:
    def __init__(self, out: BinaryIO, max_bytes: int) -> None:
        self.out = out
        self.max_bytes = max_bytes
        self.size = 0
        self.filename: str | None = None
        self.found = False
        self.digest = hashlib.sha256()
        self._writing = False
        self._field = b""
        self._value = b""
        self._headers: dict[bytes, bytes] = {}
        self._parts = 0
        self._part_name = ""
        self._part_size = 0

    def on_part_begin(self) -> None:
        self._headers = {}
        self._part_size = 0
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise InvalidRequestError(f"the form has more than {MAX_PARTS} parts; send the bundle alone")

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._field.strip().lower()] = self._value.strip()
        self._field = self._value = b""

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = params.get(b"name", b"").decode("utf-8", "replace")
        self._part_name = name
        self._writing = name == FILE_FIELD
        if self._writing:
            if self.found:
                raise InvalidRequestError(f"the form has more than one part named {FILE_FIELD!r}; send one")
            self.found = True
            raw = params.get(b"filename")
            self.filename = raw.decode("utf-8", "replace") if raw is not None else None

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._writing:
            self._part_size += end - start
            if self._part_size > FIELD_MAX_BYTES:
                raise UploadTooLargeError(
                    f"the form part {self._part_name[:64]!r} is larger than {FIELD_MAX_BYTES} bytes; "
                    f"only the {FILE_FIELD!r} part may be large"
                )
            return
        self.size += end - start
        if self.size > self.max_bytes:
            raise UploadTooLargeError(f"the upload is larger than the limit of {self.max_bytes} bytes")
        self.digest.update(data[start:end])
        self.out.write(data[start:end])

    def on_part_end(self) -> None:
        self._writing = False


async def receive_file(
    content_type: str | None,
    content_length: str | None,
    body: AsyncIterator[bytes],
    dest: Path,
    max_bytes: int,
) -> ReceivedFile:
    """Write the `file` part of a multipart body to `dest`."""
    kind, params = parse_options_header(content_type or "")
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise InvalidRequestError(f"send multipart/form-data with the bundle in a part named {FILE_FIELD!r}")
    body_max = max_bytes + _FORM_OVERHEAD
    if content_length is not None:
        if _DIGITS.fullmatch(content_length) is None:
            raise InvalidRequestError(f"Content-Length {content_length[:40]!r} is not a byte count")
        significant = content_length.lstrip("0")
        if len(significant) > 18 or int(significant or "0") > body_max:
            raise UploadTooLargeError(
                f"the upload ({content_length[:40]} bytes) is larger than the limit of {max_bytes} bytes"
            )
    with dest.open("wb") as out:
        writer = _FilePartWriter(out, max_bytes)
        received = 0
        try:
            parser = MultipartParser(
                boundary,
                {
                    "on_part_begin": writer.on_part_begin,
                    "on_header_field": writer.on_header_field,
                    "on_header_value": writer.on_header_value,
                    "on_header_end": writer.on_header_end,
                    "on_headers_finished": writer.on_headers_finished,
                    "on_part_data": writer.on_part_data,
                    "on_part_end": writer.on_part_end,
                },
            )
            async for chunk in body:
                received += len(chunk)
                if received > body_max:
                    raise UploadTooLargeError(
                        f"the upload is larger than the limit of {max_bytes} bytes (with "
                        f"{_FORM_OVERHEAD} bytes for the form around the file)"
                    )
                parser.write(chunk)
            parser.finalize()
        except GatewayError:
            raise
        except Exception as exc:  # python-multipart raises its own error types for malformed bodies
            raise InvalidRequestError(f"malformed multipart body: {exc}") from exc
    if not writer.found:
        raise InvalidRequestError(f"the form has no part named {FILE_FIELD!r}")
    return ReceivedFile(dest, writer.filename, writer.size, "0x" + writer.digest.hexdigest())
