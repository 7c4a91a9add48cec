"""Sealed streams (docs/confidential.md, "Sealed stream"): a file as AES-256-GCM chunks under one header.

    header  = b"CCSEAL1\\n" | version u8 = 1 | chunk_log2 u8 | salt (16 random bytes)
    subkey  = HKDF-SHA256(ikm=key, salt=salt, info="crowdcompute/stream/v1|" + context)
    chunk i = AES-256-GCM(subkey, nonce = u64_be(i) | u32_be(final), plaintext_i, aad = header)

Every chunk but the last holds exactly 2^chunk_log2 plaintext bytes; the last holds fewer (possibly
none), so truncation at a chunk boundary and appended chunks are both detected. Memory stays bounded
by one chunk whatever the file's size.
"""

from __future__ import annotations

import contextlib
import os
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from jobs.sealing.errors import SealedDataError
from jobs.sealing.kdf import hkdf_sha256

MAGIC = b"CCSEAL1\n"
VERSION = 1
SALT_BYTES = 16
HEADER_BYTES = len(MAGIC) + 2 + SALT_BYTES
TAG_BYTES = 16
DEFAULT_CHUNK_LOG2 = 20
MIN_CHUNK_LOG2 = 10
MAX_CHUNK_LOG2 = 26
KEY_BYTES = 32
STREAM_INFO = "crowdcompute/stream/v1|"

NOT_SEALED = "not a sealed stream"
UNSUPPORTED_VERSION = "unsupported version"
TRUNCATED = "truncated"
AUTH_FAILED = "authentication failed: wrong key or tampered data"
TRAILING = "trailing data"


def _nonce(index: int, final: bool) -> bytes:
    return struct.pack(">QI", index, 1 if final else 0)


def _subkey(key: bytes, salt: bytes, context: str) -> AESGCM:
    if len(key) != KEY_BYTES:
        raise ValueError(f"a stream key is {KEY_BYTES} bytes, not {len(key)}")
    return AESGCM(hkdf_sha256(key, salt, (STREAM_INFO + context).encode()))


def _read_full(src: BinaryIO, size: int) -> bytes:
    """Up to `size` bytes; fewer only at end of stream (loops over short reads)."""
    data = src.read(size)
    if len(data) == size or not data:
        return data
    parts = [data]
    got = len(data)
    while got < size:
        more = src.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def sealed_size(plain_size: int, chunk_log2: int = DEFAULT_CHUNK_LOG2) -> int:
    """The exact size of the sealed stream of `plain_size` plaintext bytes."""
    chunks = plain_size // (1 << chunk_log2) + 1
    return HEADER_BYTES + plain_size + chunks * TAG_BYTES


def seal_stream(
    src: BinaryIO,
    dst: BinaryIO,
    key: bytes,
    context: str,
    *,
    chunk_log2: int = DEFAULT_CHUNK_LOG2,
    salt: bytes | None = None,
) -> int:
    """Seal everything `src` reads into `dst`; return the bytes written.

    `salt` fixes the header's salt: only for the interop vectors (a fresh random one otherwise).
    """
    if not MIN_CHUNK_LOG2 <= chunk_log2 <= MAX_CHUNK_LOG2:
        raise ValueError(f"chunk_log2 must be {MIN_CHUNK_LOG2}..{MAX_CHUNK_LOG2}, not {chunk_log2}")
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    if len(salt) != SALT_BYTES:
        raise ValueError(f"a stream salt is {SALT_BYTES} bytes, not {len(salt)}")
    header = MAGIC + bytes([VERSION, chunk_log2]) + salt
    aead = _subkey(key, salt, context)
    size = 1 << chunk_log2
    dst.write(header)
    written = len(header)
    index = 0
    current = _read_full(src, size)
    while True:
        # A full chunk is final only if nothing follows; then an empty final chunk closes the stream.
        final = len(current) < size
        sealed = aead.encrypt(_nonce(index, final), current, header)
        dst.write(sealed)
        written += len(sealed)
        if final:
            return written
        index += 1
        current = _read_full(src, size)


def read_header(src: BinaryIO, what: str) -> tuple[bytes, int]:
    """The header and chunk_log2 of a sealed stream, checked."""
    header = _read_full(src, HEADER_BYTES)
    if len(header) < len(MAGIC) or header[: len(MAGIC)] != MAGIC:
        raise SealedDataError(what, NOT_SEALED)
    if len(header) < HEADER_BYTES:
        raise SealedDataError(what, TRUNCATED)
    version, chunk_log2 = header[len(MAGIC)], header[len(MAGIC) + 1]
    if version != VERSION:
        raise SealedDataError(what, f"{UNSUPPORTED_VERSION} {version} (this node reads version {VERSION})")
    if not MIN_CHUNK_LOG2 <= chunk_log2 <= MAX_CHUNK_LOG2:
        raise SealedDataError(what, f"{NOT_SEALED} (chunk_log2 {chunk_log2} out of range)")
    return header, chunk_log2


def open_stream(
    src: BinaryIO, dst: BinaryIO, key: bytes, context: str, *, what: str = "sealed stream"
) -> int:
    """Open the sealed stream `src` reads into `dst`; return the plaintext bytes written.

    Raises `SealedDataError` naming `what` and the reason. Plaintext of chunks that authenticated is
    written before a later chunk fails: callers that must not expose a partial result write to a
    temporary file (`open_file`).
    """
    header, chunk_log2 = read_header(src, what)
    aead = _subkey(key, header[-SALT_BYTES:], context)
    sealed_chunk = (1 << chunk_log2) + TAG_BYTES
    written = 0
    index = 0
    current = _read_full(src, sealed_chunk)
    while True:
        if len(current) < TAG_BYTES:
            raise SealedDataError(what, TRUNCATED)
        final = len(current) < sealed_chunk
        nxt = b"" if final else _read_full(src, sealed_chunk)
        if not final and not nxt:
            # A full chunk with nothing after it: the empty final chunk was cut off, or this is not final.
            _check(aead, index, False, current, header, what)
            raise SealedDataError(what, TRUNCATED)
        plain = _check(aead, index, final, current, header, what)
        dst.write(plain)
        written += len(plain)
        if final:
            if src.read(1):
                raise SealedDataError(what, TRAILING)
            return written
        index += 1
        current = nxt


def _check(aead: AESGCM, index: int, final: bool, sealed: bytes, header: bytes, what: str) -> bytes:
    try:
        return aead.decrypt(_nonce(index, final), sealed, header)
    except InvalidTag:
        raise SealedDataError(what, AUTH_FAILED) from None


def seal_file(src: Path, dst: Path, key: bytes, context: str, *, chunk_log2: int = DEFAULT_CHUNK_LOG2) -> int:
    """Seal file `src` into `dst` (written beside it, then renamed; `dst` may be `src`)."""
    with open(src, "rb") as source, _atomic_output(dst) as out:
        return seal_stream(source, out, key, context, chunk_log2=chunk_log2)


def open_file(src: Path, dst: Path, key: bytes, context: str, *, what: str) -> int:
    """Open sealed file `src` into `dst` (may be `src`); `dst` appears only once all of it authenticated."""
    with open(src, "rb") as source, _atomic_output(dst) as out:
        return open_stream(source, out, key, context, what=what)


@contextlib.contextmanager
def _atomic_output(dst: Path) -> Iterator[BinaryIO]:
    """A temporary file beside `dst`, renamed onto it on success and removed on any failure."""
    fd, temp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".part", dir=dst.parent)
    try:
        with os.fdopen(fd, "wb", buffering=0) as out:
            yield out
        os.replace(temp, dst)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
