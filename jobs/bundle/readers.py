"""Reading uploads: sniff tar / tar.gz / zip, stream their entries, and stop compression bombs early.

The compression ratio is enforced on bytes actually produced, while they are produced: for tar.gz,
decompressed bytes against compressed bytes read so far; for zip, each member against its compressed
size and all members against the archive's real size. Declared sizes (zip headers) only allow an
earlier refusal; they are never trusted to be true.
"""

from __future__ import annotations

import gzip
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator
from typing import IO, Any, cast

from jobs.bundle.entries import ArchiveEntry, EntryKind, Readable, read_exact
from jobs.bundle.errors import ArchiveLimitExceeded, InvalidArchive, UnsafeArchive
from jobs.bundle.limits import BundleLimits, MiB, format_bytes
from jobs.bundle.paths import MAX_LINK_TARGET_BYTES, NameProblem, decode_name, member_path, shown
from jobs.bundle.tarread import iter_tar

ARCHIVE = "(archive)"  # the entry named in errors that concern the whole archive

_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_DECOMPRESSION_ERRORS = (zipfile.BadZipFile, gzip.BadGzipFile, EOFError, zlib.error)
_SPOOL_SLACK_PER_ENTRY = 4096  # zip headers per entry, generously


class _Source:
    """The upload stream, counted, with a look-ahead buffer for sniffing its format."""

    def __init__(self, raw: Readable) -> None:
        self.raw = raw
        self._buffer = b""
        self.count = 0  # bytes taken from `raw`

    def peek(self, size: int) -> bytes:
        if len(self._buffer) < size:
            more = read_exact(self.raw, size - len(self._buffer))
            self.count += len(more)
            self._buffer += more
        return self._buffer[:size]

    def read(self, size: int = -1, /) -> bytes:
        if self._buffer:
            if size < 0 or size >= len(self._buffer):
                chunk, self._buffer = self._buffer, b""
            else:
                chunk, self._buffer = self._buffer[:size], self._buffer[size:]
            return chunk
        chunk = self.raw.read(size)
        self.count += len(chunk)
        return chunk


def _bomb(entry: str, limits: BundleLimits, produced: int, compressed: int) -> ArchiveLimitExceeded:
    return ArchiveLimitExceeded(
        entry,
        "max_ratio",
        limits.max_ratio,
        produced / max(compressed, 1),
        f"expands to more than {limits.max_ratio:g}x its compressed size ({format_bytes(produced)} from "
        f"{format_bytes(compressed)}): a compression bomb? Upload such data uncompressed (a plain tar)",
    )


class _GzipMeter:
    """Decompressed gzip bytes, refused once they outgrow `max_ratio` times the compressed bytes read.

    A read returns at most 1 MiB, so no single call decompresses a bomb into memory.
    """

    def __init__(self, inner: gzip.GzipFile, source: _Source, limits: BundleLimits) -> None:
        self._inner = inner
        self._source = source
        self._limits = limits
        self.produced = 0
        self.entry = ARCHIVE

    def read(self, size: int = -1, /) -> bytes:
        try:
            chunk = self._inner.read(min(size, MiB) if size >= 0 else MiB)
        except _DECOMPRESSION_ERRORS as exc:
            raise InvalidArchive(f"corrupt gzip data: {exc}") from None
        self.produced += len(chunk)
        limits = self._limits
        if self.produced > limits.ratio_grace_bytes and self.produced > limits.max_ratio * self._source.count:
            raise _bomb(self.entry, limits, self.produced, self._source.count)
        return chunk


class _ZipMemberMeter:
    """One zip member's data, checked against its own compressed size and the archive's real size."""

    def __init__(self, inner: IO[bytes], entry: str, compressed: int, totals: _ZipTotals) -> None:
        self._inner = inner
        self._entry = entry
        self._compressed = compressed
        self._totals = totals
        self.produced = 0

    def read(self, size: int = -1, /) -> bytes:
        try:
            chunk = self._inner.read(size)
        except _DECOMPRESSION_ERRORS as exc:
            raise InvalidArchive(f"corrupt zip entry {self._entry!r}: {exc}") from None
        self.produced += len(chunk)
        self._totals.produced += len(chunk)
        totals, limits = self._totals, self._totals.limits
        if self.produced > limits.ratio_grace_bytes and self.produced > limits.max_ratio * self._compressed:
            raise _bomb(self._entry, limits, self.produced, self._compressed)
        if (
            totals.produced > limits.ratio_grace_bytes
            and totals.produced > limits.max_ratio * totals.archive_size
        ):
            raise _bomb(self._entry, limits, totals.produced, totals.archive_size)
        return chunk


class _ZipTotals:
    def __init__(self, limits: BundleLimits, archive_size: int) -> None:
        self.limits = limits
        self.archive_size = archive_size
        self.produced = 0


def _zip_entry_count(handle: IO[bytes], start: int, size: int) -> int:
    """Entries declared by the end-of-central-directory record, read before `zipfile` builds its index."""
    tail_size = min(size, 22 + 65535)
    tail_start = start + size - tail_size
    handle.seek(tail_start)
    tail = read_exact(handle, tail_size)
    end = tail.rfind(b"PK\x05\x06")
    if end < 0 or len(tail) - end < 22:
        raise InvalidArchive("not a zip archive, or a truncated one (no end of central directory)")
    (count,) = struct.unpack("<H", tail[end + 10 : end + 12])
    locator = end - 20
    if count == 0xFFFF and locator >= 0 and tail[locator : locator + 4] == b"PK\x06\x07":
        (offset,) = struct.unpack("<Q", tail[locator + 8 : locator + 16])
        handle.seek(start + offset)
        record = read_exact(handle, 40)
        if record[:4] != b"PK\x06\x06":
            raise InvalidArchive("corrupt zip64 end of central directory")
        (count,) = struct.unpack("<Q", record[32:40])
    return int(count)


def _zip_kind(info: zipfile.ZipInfo, name: str) -> tuple[EntryKind, bool]:
    mode = info.external_attr >> 16 if info.create_system == 3 else 0
    file_type = stat.S_IFMT(mode)
    refused = {
        stat.S_IFCHR: "character device files are not allowed",
        stat.S_IFBLK: "block device files are not allowed",
        stat.S_IFIFO: "FIFOs (named pipes) are not allowed",
        stat.S_IFSOCK: "sockets are not allowed",
    }
    if file_type in refused:
        raise UnsafeArchive(name, refused[file_type])
    if file_type == stat.S_IFLNK:
        return EntryKind.SYMLINK, False
    if file_type == stat.S_IFDIR or info.orig_filename.endswith("/"):
        return EntryKind.DIRECTORY, False
    if file_type not in (0, stat.S_IFREG):
        raise UnsafeArchive(name, f"unsupported file type {oct(file_type)}")
    return EntryKind.FILE, bool(mode & 0o111)


def _zip_name(info: zipfile.ZipInfo) -> str:
    # `filename` is cut at a NUL byte by zipfile; `orig_filename` is what the archive holds.
    raw = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
    try:
        return member_path(decode_name(raw))
    except NameProblem as problem:
        raise UnsafeArchive(shown(raw), str(problem)) from None


def _iter_zip(handle: IO[bytes], size: int, limits: BundleLimits) -> Iterator[ArchiveEntry]:
    start = handle.tell()
    declared = _zip_entry_count(handle, start, size)
    if declared > limits.max_files:
        raise ArchiveLimitExceeded(
            ARCHIVE,
            "max_files",
            limits.max_files,
            declared,
            f"declares {declared} entries; at most {limits.max_files} allowed",
        )
    handle.seek(start)
    try:
        archive = zipfile.ZipFile(handle)
    except UnicodeDecodeError as exc:
        raise UnsafeArchive(shown(exc.object), "name is not valid UTF-8") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
        raise InvalidArchive(f"corrupt zip archive: {exc}") from None
    with archive:
        infos = archive.infolist()
        entries: list[tuple[zipfile.ZipInfo, str, EntryKind, bool]] = []
        total_declared = 0
        for info in infos:
            name = _zip_name(info)
            kind, executable = _zip_kind(info, shown(info.orig_filename))
            if info.flag_bits & 0x1:
                raise UnsafeArchive(name, "encrypted entries are not supported")
            if info.compress_type not in _ZIP_METHODS:
                raise UnsafeArchive(
                    name,
                    f"compression method {info.compress_type} is not supported (only stored and deflate)",
                )
            if kind is EntryKind.FILE and info.file_size > limits.max_file_bytes:
                raise ArchiveLimitExceeded(
                    name,
                    "max_file_bytes",
                    limits.max_file_bytes,
                    info.file_size,
                    f"declares {format_bytes(info.file_size)}; at most "
                    f"{format_bytes(limits.max_file_bytes)} per file",
                )
            total_declared += info.file_size
            entries.append((info, name, kind, executable))
        if total_declared > limits.max_total_bytes:
            raise ArchiveLimitExceeded(
                ARCHIVE,
                "max_total_bytes",
                limits.max_total_bytes,
                total_declared,
                f"declares {format_bytes(total_declared)} of data; at most "
                f"{format_bytes(limits.max_total_bytes)}",
            )
        if total_declared > limits.ratio_grace_bytes and total_declared > limits.max_ratio * size:
            raise _bomb(ARCHIVE, limits, total_declared, size)
        totals = _ZipTotals(limits, size)
        for info, name, kind, executable in entries:
            try:
                member = archive.open(info)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
                raise InvalidArchive(f"cannot read zip entry {name!r}: {exc}") from None
            with member:
                data = _ZipMemberMeter(member, name, info.compress_size, totals)
                if kind is EntryKind.SYMLINK:
                    raw_target = read_exact(data, MAX_LINK_TARGET_BYTES + 1)
                    try:
                        target = decode_name(raw_target)
                    except NameProblem as problem:
                        raise UnsafeArchive(name, f"symlink target: {problem}") from None
                    yield ArchiveEntry(name, kind, link_target=target)
                elif kind is EntryKind.DIRECTORY:
                    if info.file_size:
                        raise UnsafeArchive(name, f"a directory entry with {info.file_size} bytes of data")
                    yield ArchiveEntry(name, kind)
                else:
                    yield ArchiveEntry(name, kind, executable, info.file_size, data=data)


def _iter_gzip(source: _Source, limits: BundleLimits) -> Iterator[ArchiveEntry]:
    meter = _GzipMeter(gzip.GzipFile(fileobj=cast(Any, source), mode="rb"), source, limits)
    for entry in iter_tar(meter, limits.max_files):
        meter.entry = entry.path
        yield entry


def _seekable(raw: Readable) -> bool:
    check: Callable[[], bool] | None = getattr(raw, "seekable", None)
    return bool(check and check())


def _spool(source: _Source, limits: BundleLimits, spool_dir: str | None) -> IO[bytes]:
    """Copy a non-seekable zip upload to an anonymous temp file (a zip's index is at its end)."""
    cap = limits.max_total_bytes + limits.max_files * _SPOOL_SLACK_PER_ENTRY + MiB
    spooled = tempfile.TemporaryFile(dir=spool_dir)  # noqa: SIM115 - returned open; closed by the caller
    try:
        while chunk := source.read(MiB):
            spooled.write(chunk)
            if spooled.tell() > cap:
                raise ArchiveLimitExceeded(
                    ARCHIVE,
                    "max_total_bytes",
                    cap,
                    spooled.tell(),
                    f"the upload is larger than any bundle within the limits ({format_bytes(cap)})",
                )
        spooled.seek(0)
    except BaseException:
        spooled.close()
        raise
    return spooled


def iter_archive(
    raw: Readable, limits: BundleLimits, spool_dir: str | None = None
) -> Generator[ArchiveEntry, None, None]:
    """Yield the entries of a tar, tar.gz or zip stream; names and types are already checked.

    Close the generator (`contextlib.closing`) if you stop early, so a spooled copy is removed at once.
    """
    seekable = _seekable(raw)
    start = cast(IO[bytes], raw).tell() if seekable else 0
    source = _Source(raw)
    head = source.peek(512)
    if head.startswith(_GZIP_MAGIC):
        yield from _iter_gzip(source, limits)
    elif head.startswith(_ZIP_MAGICS):
        if seekable:
            handle = cast(IO[bytes], raw)
            size = handle.seek(0, 2) - start
            handle.seek(start)
            yield from _iter_zip(handle, size, limits)
        else:
            with _spool(source, limits, spool_dir) as spooled:
                size = spooled.seek(0, 2)
                spooled.seek(0)
                yield from _iter_zip(spooled, size, limits)
    elif head[257:262] == b"ustar" or (len(head) == 512 and head == bytes(512)):
        yield from iter_tar(source, limits.max_files)
    else:
        raise InvalidArchive("not a tar, tar.gz or zip archive")
