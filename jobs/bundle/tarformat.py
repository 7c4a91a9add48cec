"""The canonical tar encoding of a bundle, written by hand rather than by `tarfile`.

Why by hand: the bytes of a bundle decide its CID, so they must be a pure function of the folder's
content. `tarfile`'s output has changed between Python versions (default format, PAX header names,
which fields go to PAX records, float mtimes), and it fills fields from the running system. Here each
entry is a POSIX ustar header (POSIX.1-1988) with fixed values:

* mtime 0, uid/gid 0, uname/gname empty, devmajor/devminor 0;
* mode 0o644 or 0o755 for files, 0o755 for directories, 0o777 for symlinks;
* directory names end with '/';
* a PAX extended header (typeflag 'x', name '././@PaxHeader', fields as above, mode 0o644) precedes an
  entry only when the ustar fields cannot hold it: a path or link target that is not ASCII or longer
  than 100 bytes, or a size of 8 GiB or more. Its records appear in the order linkpath, path, size.
  The ustar name then holds the first 100 bytes of the path (readers take the PAX path).
* the ustar prefix field is never used, and the archive ends with two zero blocks and no record padding.

Any POSIX tar reader (GNU tar, bsdtar, Python's tarfile) reads these archives.
"""

from __future__ import annotations

BLOCK = 512
END_OF_ARCHIVE = bytes(2 * BLOCK)

REGULAR = b"0"
SYMLINK = b"2"
DIRECTORY = b"5"
PAX_HEADER = b"x"

FILE_MODE = 0o644
EXEC_MODE = 0o755
DIR_MODE = 0o755
LINK_MODE = 0o777

_NAME_FIELD = 100
_MAX_OCTAL_SIZE = 8**11 - 1  # 11 octal digits in the 12-byte size field
_PAX_NAME = b"././@PaxHeader"


def padding(size: int) -> bytes:
    """Zero bytes that round `size` up to a whole block."""
    return bytes(-size % BLOCK)


def padded(size: int) -> int:
    return size + (-size % BLOCK)


def _octal(value: int, width: int) -> bytes:
    return b"%0*o\x00" % (width - 1, value)


def _ustar(name: bytes, mode: int, size: int, typeflag: bytes, linkname: bytes) -> bytes:
    header = b"".join(
        (
            name[:_NAME_FIELD].ljust(_NAME_FIELD, b"\x00"),
            _octal(mode, 8),
            _octal(0, 8),  # uid
            _octal(0, 8),  # gid
            _octal(size, 12),
            _octal(0, 12),  # mtime
            b" " * 8,  # checksum, counted as spaces
            typeflag,
            linkname[:_NAME_FIELD].ljust(_NAME_FIELD, b"\x00"),
            b"ustar\x0000",
            bytes(32),  # uname
            bytes(32),  # gname
            _octal(0, 8),  # devmajor
            _octal(0, 8),  # devminor
            bytes(155),  # prefix
        )
    ).ljust(BLOCK, b"\x00")
    checksum = b"%06o\x00 " % sum(header)
    return header[:148] + checksum + header[156:]


def _pax_record(key: bytes, value: bytes) -> bytes:
    body = b" " + key + b"=" + value + b"\n"
    digits = 1
    while len(str(len(body) + digits)) != digits:
        digits += 1
    return str(len(body) + digits).encode("ascii") + body


def _fits(field: bytes) -> bool:
    return len(field) <= _NAME_FIELD and field.isascii()


def entry_header(path: str, typeflag: bytes, mode: int, size: int = 0, linkname: str = "") -> bytes:
    """The header block(s) of one entry: a ustar header, preceded by a PAX header when needed."""
    name = path.encode("utf-8") + (b"/" if typeflag == DIRECTORY else b"")
    link = linkname.encode("utf-8")
    records = b""
    if not _fits(link):
        records += _pax_record(b"linkpath", link)
    if not _fits(name):
        records += _pax_record(b"path", name)
    if size > _MAX_OCTAL_SIZE:
        records += _pax_record(b"size", str(size).encode("ascii"))
    header = _ustar(name, mode, size if size <= _MAX_OCTAL_SIZE else 0, typeflag, link)
    if not records:
        return header
    pax = _ustar(_PAX_NAME, FILE_MODE, len(records), PAX_HEADER, b"")
    return pax + records + padding(len(records)) + header


def file_header(path: str, size: int, executable: bool) -> bytes:
    return entry_header(path, REGULAR, EXEC_MODE if executable else FILE_MODE, size)


def directory_header(path: str) -> bytes:
    return entry_header(path, DIRECTORY, DIR_MODE)


def symlink_header(path: str, target: str) -> bytes:
    return entry_header(path, SYMLINK, LINK_MODE, 0, target)
