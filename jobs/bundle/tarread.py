"""A streaming reader for POSIX tar archives (ustar, PAX, GNU long names), written for hostile input.

`tarfile` is not used for reading: it reads whole PAX and GNU long-name blocks into memory whatever
size their header declares, and it silently cuts names at a NUL byte. This reader bounds every
metadata block, keeps names as given, and refuses every entry type a bundle cannot hold.
"""

from __future__ import annotations

from collections.abc import Iterator

from jobs.bundle.entries import ArchiveEntry, EntryKind, Readable, read_exact
from jobs.bundle.errors import InvalidArchive, UnsafeArchive
from jobs.bundle.paths import NameProblem, decode_name, member_path, shown
from jobs.bundle.tarformat import BLOCK, padded

MAX_METADATA_BYTES = 64 * 1024  # a PAX or GNU long-name block; paths are at most 1 KiB

_REGULAR_TYPES = (b"0", b"\x00", b"7")
_REFUSED_TYPES = {
    b"1": "hard links are not supported; store a copy of the file",
    b"3": "character device files are not allowed",
    b"4": "block device files are not allowed",
    b"6": "FIFOs (named pipes) are not allowed",
    b"S": "sparse files are not supported",
}
_POSIX_MAGIC = b"ustar\x00"
_GNU_MAGIC = b"ustar  \x00"


def _number(field: bytes, what: str) -> int:
    if field[:1] and field[0] & 0x80:  # GNU base-256
        if field[0] != 0x80:
            raise InvalidArchive(f"tar header has a negative {what}")
        return int.from_bytes(field[1:], "big")
    text = field.split(b"\x00", 1)[0].strip(b" ")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise InvalidArchive(f"tar header has a malformed {what} field {shown(field)!r}") from None


def _until_nul(field: bytes) -> bytes:
    return field.split(b"\x00", 1)[0]


def _check_checksum(header: bytes) -> None:
    stored = _number(header[148:156], "checksum")
    blanked = header[:148] + b" " * 8 + header[156:]
    unsigned = sum(blanked)
    signed = sum(byte - 256 if byte > 127 else byte for byte in blanked)
    if stored not in (unsigned, signed):
        raise InvalidArchive("tar header checksum mismatch: the archive is corrupt or not a tar")


def _pax_records(data: bytes) -> dict[str, bytes]:
    records: dict[str, bytes] = {}
    position = 0
    while position < len(data):
        if not data[position:].strip(b"\x00"):
            break  # some writers pad the block with zeros
        space = data.find(b" ", position)
        if space < 0:
            raise InvalidArchive("malformed PAX extended header")
        try:
            length = int(data[position:space])
        except ValueError:
            raise InvalidArchive("malformed PAX extended header") from None
        record = data[space + 1 : position + length]
        if length <= 0 or position + length > len(data) or not record.endswith(b"\n") or b"=" not in record:
            raise InvalidArchive("malformed PAX extended header")
        key, _, value = record[:-1].partition(b"=")
        records[key.decode("utf-8", "replace")] = value
        position += length
    return records


class _MemberData:
    """The data of one member: reads stop at its declared size."""

    def __init__(self, stream: Readable, size: int) -> None:
        self._stream = stream
        self.left = size

    def read(self, size: int = -1, /) -> bytes:
        if self.left <= 0:
            return b""
        want = self.left if size < 0 else min(size, self.left)
        chunk = self._stream.read(want)
        if not chunk:
            raise InvalidArchive("archive is truncated inside a file's data")
        self.left -= len(chunk)
        return chunk


def _skip(stream: Readable, size: int) -> None:
    while size > 0:
        chunk = stream.read(min(size, 1024 * 1024))
        if not chunk:
            raise InvalidArchive("archive is truncated")
        size -= len(chunk)


def _entry_name(raw: bytes) -> str:
    try:
        return member_path(decode_name(raw))
    except NameProblem as problem:
        raise UnsafeArchive(shown(raw), str(problem)) from None


class _Extensions:
    """What PAX ('x') and GNU ('L', 'K') headers say about the next entry; global headers are checked."""

    def __init__(self) -> None:
        self.pax: dict[str, bytes] | None = None
        self.long_name: bytes | None = None
        self.long_link: bytes | None = None

    def absorb(self, typeflag: bytes, data: bytes, header_name: bytes) -> None:
        if typeflag == b"g":
            if {"path", "linkpath", "size"} & _pax_records(data).keys():
                raise UnsafeArchive(shown(header_name), "global PAX header sets a path, link or size")
        elif typeflag == b"x":
            if self.pax is not None:
                raise InvalidArchive("two PAX extended headers in a row")
            self.pax = _pax_records(data)
            if any(key.startswith("GNU.sparse") for key in self.pax):
                raise UnsafeArchive(shown(header_name), "sparse files are not supported")
        else:
            value = data.rstrip(b"\x00")
            if b"\x00" in value:
                raise UnsafeArchive(shown(value), "name contains a NUL byte")
            if typeflag == b"L":
                self.long_name = value
            else:
                self.long_link = value

    def apply(self, name: bytes, link: bytes, size: int) -> tuple[bytes, bytes, int]:
        """The entry's real name, link target and size; clears what was pending."""
        records = self.pax or {}
        name = records.get("path", self.long_name if self.long_name is not None else name)
        link = records.get("linkpath", self.long_link if self.long_link is not None else link)
        if "size" in records:
            text = records["size"]
            if not text.isdigit():
                raise InvalidArchive(f"malformed PAX size record {shown(text)!r}")
            size = int(text)
        self.pax, self.long_name, self.long_link = None, None, None
        return name, link, size


def _read_header(stream: Readable) -> bytes | None:
    """The next header block, checked; None at the end-of-archive marker."""
    header = read_exact(stream, BLOCK)
    if len(header) < BLOCK:
        raise InvalidArchive("archive is truncated: it ends without the end-of-archive marker")
    if header == bytes(BLOCK):
        return None
    magic = header[257:265]
    if magic[:6] != _POSIX_MAGIC and magic != _GNU_MAGIC:
        raise InvalidArchive("not a POSIX (ustar) or GNU tar header")
    _check_checksum(header)
    return header


def _entry_kind(typeflag: bytes, name: bytes, size: int) -> EntryKind:
    if typeflag in _REFUSED_TYPES:
        raise UnsafeArchive(shown(name), _REFUSED_TYPES[typeflag])
    if typeflag == b"5" or (typeflag == b"\x00" and name.endswith(b"/")):
        kind = EntryKind.DIRECTORY
    elif typeflag in _REGULAR_TYPES:
        kind = EntryKind.FILE
    elif typeflag == b"2":
        kind = EntryKind.SYMLINK
    else:
        raise UnsafeArchive(shown(name), f"unsupported tar entry type {shown(typeflag)!r}")
    if kind is not EntryKind.FILE and size:
        raise UnsafeArchive(shown(name), f"a {kind.value} entry with {size} bytes of data")
    return kind


def iter_tar(stream: Readable, max_metadata_headers: int) -> Iterator[ArchiveEntry]:
    """Yield the entries of a tar stream, refusing unsafe names and types; stops at end-of-archive."""
    extensions = _Extensions()
    metadata_headers = 0
    while (header := _read_header(stream)) is not None:
        typeflag = header[156:157]
        size = _number(header[124:136], "size")
        name = _until_nul(header[0:100])
        if header[257:263] == _POSIX_MAGIC and header[345] != 0:
            name = _until_nul(header[345:500]) + b"/" + name

        if typeflag in (b"x", b"g", b"L", b"K"):
            metadata_headers += 1
            if metadata_headers > max_metadata_headers:
                raise UnsafeArchive(shown(name), "too many extended headers")
            if size > MAX_METADATA_BYTES:
                raise UnsafeArchive(
                    shown(name), f"extended header of {size} bytes (at most {MAX_METADATA_BYTES} allowed)"
                )
            data = read_exact(stream, padded(size))
            if len(data) < padded(size):
                raise InvalidArchive("archive is truncated inside an extended header")
            extensions.absorb(typeflag, data[:size], name)
            continue

        name, link, size = extensions.apply(name, _until_nul(header[157:257]), size)
        kind = _entry_kind(typeflag, name, size)
        path = _entry_name(name)
        link_target = ""
        if kind is EntryKind.SYMLINK:
            try:
                link_target = decode_name(link)
            except NameProblem as problem:
                raise UnsafeArchive(shown(name), f"symlink target: {problem}") from None
        executable = bool(_number(header[100:108], "mode") & 0o111)
        data_stream = _MemberData(stream, size)
        yield ArchiveEntry(
            path, kind, executable, size, link_target, data_stream if kind is EntryKind.FILE else None
        )
        _skip(stream, data_stream.left + padded(size) - size)
