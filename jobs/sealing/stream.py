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


def _read_into(src: BinaryIO, buffer: bytearray) -> int:
    """Fill `buffer` from `src`; fewer bytes only at end of stream. No allocation when `src` has readinto."""
    view = memoryview(buffer)
    readinto = getattr(src, "readinto", None)
    got = 0
    while got < len(buffer):
        if readinto is not None:
            count = readinto(view[got:])
        else:
            data = src.read(len(buffer) - got)
            count = len(data)
            view[got : got + count] = data
        if not count:
            break
        got += count
    return got


def _encrypt(aead: AESGCM, nonce: bytes, plain: memoryview, aad: bytes, out: bytearray) -> memoryview:
    """AES-GCM of `plain` into `out` (no allocation where `cryptography` has encrypt_into)."""
    sealed = memoryview(out)[: len(plain) + TAG_BYTES]
    if _HAS_INTO:
        aead.encrypt_into(nonce, plain, aad, sealed)
        return sealed
    return memoryview(aead.encrypt(nonce, bytes(plain), aad))


def _decrypt(aead: AESGCM, nonce: bytes, sealed: memoryview, aad: bytes, out: bytearray) -> memoryview:
    plain = memoryview(out)[: len(sealed) - TAG_BYTES]
    if _HAS_INTO:
        aead.decrypt_into(nonce, sealed, aad, plain)
        return plain
    return memoryview(aead.decrypt(nonce, bytes(sealed), aad))


_HAS_INTO = hasattr(AESGCM, "encrypt_into")  # cryptography >= 45


def sealed_size(plain_size: int, chunk_log2: int = DEFAULT_CHUNK_LOG2) -> int:
    """The exact size of the sealed stream of `plain_size` plaintext bytes."""
    chunks = plain_size // (1 << chunk_log2) + 1
    return HEADER_BYTES + plain_size + chunks * TAG_BYTES


class SealingWriter:
    """Seals what is written to it into `dst`, chunk by chunk; `finish()` writes the final chunk.

    A chunk of exactly 2^chunk_log2 bytes is never final, so full chunks go out as soon as they fill.
    """

    def __init__(
        self,
        dst: BinaryIO,
        key: bytes,
        context: str,
        *,
        chunk_log2: int = DEFAULT_CHUNK_LOG2,
        salt: bytes | None = None,
    ) -> None:
        if not MIN_CHUNK_LOG2 <= chunk_log2 <= MAX_CHUNK_LOG2:
            raise ValueError(f"chunk_log2 must be {MIN_CHUNK_LOG2}..{MAX_CHUNK_LOG2}, not {chunk_log2}")
        salt = os.urandom(SALT_BYTES) if salt is None else salt
        if len(salt) != SALT_BYTES:
            raise ValueError(f"a stream salt is {SALT_BYTES} bytes, not {len(salt)}")
        self._header = MAGIC + bytes([VERSION, chunk_log2]) + salt
        self._aead = _subkey(key, salt, context)
        self._size = 1 << chunk_log2
        self._dst = dst
        self._pending = bytearray()
        self._out = bytearray(self._size + TAG_BYTES)
        self._index = 0
        self._finished = False
        dst.write(self._header)
        self.written = len(self._header)

    def _emit(self, plain: bytes | bytearray | memoryview, final: bool) -> None:
        sealed = _encrypt(self._aead, _nonce(self._index, final), memoryview(plain), self._header, self._out)
        self._dst.write(sealed)
        self.written += len(sealed)
        self._index += 1

    def write(self, data: bytes | bytearray | memoryview, /) -> int:
        if self._finished:
            raise ValueError("the sealed stream is finished")
        view = memoryview(data)
        if self._pending:
            take = min(len(view), self._size - len(self._pending))
            self._pending += view[:take]
            view = view[take:]
            if len(self._pending) < self._size:
                return len(data)
            self._emit(self._pending, False)
            self._pending.clear()
        while len(view) >= self._size:
            self._emit(view[: self._size], False)
            view = view[self._size :]
        self._pending += view
        return len(data)

    def finish(self) -> int:
        """Write the final (shorter, possibly empty) chunk; return the stream's size."""
        if not self._finished:
            self._emit(self._pending, True)
            self._pending.clear()
            self._finished = True
        return self.written


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
    writer = SealingWriter(dst, key, context, chunk_log2=chunk_log2, salt=salt)
    buffer = bytearray(1 << chunk_log2)
    while count := _read_into(src, buffer):
        writer.write(memoryview(buffer)[:count])
    return writer.finish()


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


class OpeningReader:
    """The plaintext of the sealed stream `src`, read like a file; every byte it returns authenticated.

    Reading to the end (an empty read) also checks the stream's end: a missing final chunk or bytes
    after it raise `SealedDataError`. `drain()` does that for a caller that stopped early. Buffers are
    allocated once: two sealed chunks (the current one and the one read ahead) and one plaintext chunk.
    """

    def __init__(self, src: BinaryIO, key: bytes, context: str, *, what: str) -> None:
        self._src = src
        self._what = what
        self._header, chunk_log2 = read_header(src, what)
        self._aead = _subkey(key, self._header[-SALT_BYTES:], context)
        self._sealed_chunk = (1 << chunk_log2) + TAG_BYTES
        self._sealed = [bytearray(self._sealed_chunk), bytearray(self._sealed_chunk)]
        self._plain_buffer = bytearray(1 << chunk_log2)
        self._index = 0
        self._plain = memoryview(b"")
        self._offset = 0
        self._done = False
        self._next_len = _read_into(src, self._sealed[1])

    def seekable(self) -> bool:
        return False

    def _advance(self) -> None:
        """Authenticate the next chunk into the buffer; at the final chunk, check the stream's end."""
        self._sealed.reverse()  # the chunk read ahead becomes the current one
        current = memoryview(self._sealed[0])[: self._next_len]
        if len(current) < TAG_BYTES:
            raise SealedDataError(self._what, TRUNCATED)
        final = len(current) < self._sealed_chunk
        self._next_len = 0 if final else _read_into(self._src, self._sealed[1])
        try:
            plain = _decrypt(
                self._aead, _nonce(self._index, final), current, self._header, self._plain_buffer
            )
        except InvalidTag:
            raise SealedDataError(self._what, AUTH_FAILED) from None
        if not final and not self._next_len:
            raise SealedDataError(self._what, TRUNCATED)  # a full chunk is never the last one
        if final and self._src.read(1):
            raise SealedDataError(self._what, TRAILING)
        self._index += 1
        self._plain, self._offset, self._done = plain, 0, final

    def read_chunk(self) -> memoryview:
        """The rest of the current chunk, or the next one (valid until the next read); empty at the end,
        once the whole stream authenticated."""
        while self._offset >= len(self._plain):
            if self._done:
                return memoryview(b"")
            self._advance()
        data = self._plain[self._offset :]
        self._offset = len(self._plain)
        return data

    def read(self, size: int = -1, /) -> bytes:
        if size < 0:
            return b"".join(bytes(chunk) for chunk in iter(self.read_chunk, memoryview(b"")))
        while self._offset >= len(self._plain):
            if self._done or size == 0:
                return b""
            self._advance()
        data = bytes(self._plain[self._offset : self._offset + size])
        self._offset += len(data)
        return data

    def drain(self) -> None:
        """Read and authenticate whatever is left, discarding it."""
        while len(self.read_chunk()):
            pass


def first_chunk_opens(src: BinaryIO, key: bytes, context: str) -> bool:
    """Whether `src` starts as a sealed stream for this key and context (its first chunk authenticates)."""
    try:
        header, chunk_log2 = read_header(src, "stream")
    except SealedDataError:
        return False
    first = _read_full(src, (1 << chunk_log2) + TAG_BYTES)
    final = len(first) < (1 << chunk_log2) + TAG_BYTES
    try:
        _subkey(key, header[-SALT_BYTES:], context).decrypt(_nonce(0, final), first, header)
    except InvalidTag:
        return False
    return True


def open_stream(
    src: BinaryIO, dst: BinaryIO, key: bytes, context: str, *, what: str = "sealed stream"
) -> int:
    """Open the sealed stream `src` reads into `dst`; return the plaintext bytes written.

    Raises `SealedDataError` naming `what` and the reason. Plaintext of chunks that authenticated is
    written before a later chunk fails: callers that must not expose a partial result write to a
    temporary file (`open_file`).
    """
    reader = OpeningReader(src, key, context, what=what)
    written = 0
    while len(chunk := reader.read_chunk()):
        dst.write(chunk)
        written += len(chunk)
    return written


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
