"""Hand-written protobuf for the two messages a UnixFS file is made of: dag-pb `PBNode` and UnixFS `Data`.

Encoding follows what Kubo emits byte for byte:

- `PBNode`: every `Links` (field 2) first, then `Data` (field 1).
- `PBLink`: `Hash` (1), `Name` (2, always present, empty for file chunks), `Tsize` (3).
- UnixFS `Data`: `Type` (1), `Data` (2, only when there are bytes to carry), `filesize` (3, always),
  `blocksizes` (4, one unpacked varint per child).

Decoding accepts any field order and skips unknown fields, so it reads nodes written by other tools too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum

from jobs.store.errors import CorruptDag

__all__ = [
    "PBLink",
    "PBNode",
    "UnixFSData",
    "UnixFSType",
    "decode_pbnode",
    "decode_unixfs",
    "encode_link",
    "encode_pbnode",
    "encode_unixfs_file",
    "leaf_envelope",
    "varint",
]

_WIRE_VARINT = 0
_WIRE_I64 = 1
_WIRE_LEN = 2
_WIRE_I32 = 5


class UnixFSType(IntEnum):
    RAW = 0
    DIRECTORY = 1
    FILE = 2
    METADATA = 3
    SYMLINK = 4
    HAMT_SHARD = 5


def varint(value: int) -> bytes:
    """Unsigned LEB128, as protobuf writes varints."""
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _len_field(tag: int, payload: bytes | bytearray | memoryview) -> bytes:
    return bytes((tag,)) + varint(len(payload)) + bytes(payload)


def encode_unixfs_file(filesize: int, blocksizes: Iterable[int] = (), data: bytes | None = None) -> bytes:
    """UnixFS `Data{Type: File, Data?, filesize, blocksizes...}`."""
    out = bytearray(b"\x08\x02")
    if data is not None:
        out += _len_field(0x12, data)
    out += b"\x18" + varint(filesize)
    for size in blocksizes:
        out += b"\x20" + varint(size)
    return bytes(out)


def encode_link(cid_bytes: bytes, tsize: int, name: bytes = b"") -> bytes:
    """One `PBLink` message (without the enclosing field tag)."""
    return _len_field(0x0A, cid_bytes) + _len_field(0x12, name) + b"\x18" + varint(tsize)


def encode_pbnode(links: Iterable[bytes], data: bytes | None) -> bytes:
    """`PBNode` from already-encoded links, then the data field."""
    out = bytearray()
    for link in links:
        out += _len_field(0x12, link)
    if data is not None:
        out += _len_field(0x0A, data)
    return bytes(out)


def leaf_envelope(chunk_size: int) -> tuple[bytes, bytes]:
    """(prefix, suffix) that turn a chunk into a CIDv0-style leaf: `PBNode{Data: UnixFS{File, chunk, size}}`.

    The chunk goes between the two unchanged, so a leaf is hashed and written without copying the chunk.
    """
    size_varint = varint(chunk_size)
    inner_len = 2 + 1 + len(size_varint) + chunk_size + 1 + len(size_varint)
    prefix = b"\x0a" + varint(inner_len) + b"\x08\x02\x12" + size_varint
    suffix = b"\x18" + size_varint
    return prefix, suffix


@dataclass(frozen=True, slots=True)
class PBLink:
    hash: bytes
    name: bytes
    tsize: int | None


@dataclass(frozen=True, slots=True)
class PBNode:
    links: tuple[PBLink, ...]
    data: memoryview | None


@dataclass(frozen=True, slots=True)
class UnixFSData:
    type: int
    data: memoryview | None
    filesize: int | None
    blocksizes: tuple[int, ...] = field(default=())


class _Reader:
    __slots__ = ("buf", "end", "pos")

    def __init__(self, buf: memoryview, pos: int = 0, end: int | None = None) -> None:
        self.buf = buf
        self.pos = pos
        self.end = len(buf) if end is None else end

    def more(self) -> bool:
        return self.pos < self.end

    def varint(self) -> int:
        value = shift = 0
        buf, pos, end = self.buf, self.pos, self.end
        while pos < end:
            byte = buf[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                self.pos = pos
                return value
            shift += 7
            if shift > 63:
                break
        raise CorruptDag("truncated or overlong protobuf varint")

    def key(self) -> tuple[int, int]:
        key = self.varint()
        return key >> 3, key & 7

    def length_delimited(self) -> memoryview:
        length = self.varint()
        start = self.pos
        if start + length > self.end:
            raise CorruptDag("protobuf field runs past the end of its message")
        self.pos = start + length
        return self.buf[start : start + length]

    def skip(self, wire: int) -> None:
        if wire == _WIRE_VARINT:
            self.varint()
        elif wire == _WIRE_LEN:
            self.length_delimited()
        elif wire in (_WIRE_I64, _WIRE_I32):
            self.pos += 8 if wire == _WIRE_I64 else 4
            if self.pos > self.end:
                raise CorruptDag("truncated fixed-width protobuf field")
        else:
            raise CorruptDag(f"unsupported protobuf wire type {wire}")


def _expect(wire: int, expected: int, what: str) -> None:
    if wire != expected:
        raise CorruptDag(f"{what} has wire type {wire}, expected {expected}")


def _decode_link(buf: memoryview) -> PBLink:
    reader = _Reader(buf)
    hash_: bytes | None = None
    name = b""
    tsize: int | None = None
    while reader.more():
        number, wire = reader.key()
        if number == 1:
            _expect(wire, _WIRE_LEN, "PBLink.Hash")
            hash_ = bytes(reader.length_delimited())
        elif number == 2:
            _expect(wire, _WIRE_LEN, "PBLink.Name")
            name = bytes(reader.length_delimited())
        elif number == 3:
            _expect(wire, _WIRE_VARINT, "PBLink.Tsize")
            tsize = reader.varint()
        else:
            reader.skip(wire)
    if hash_ is None:
        raise CorruptDag("PBLink without a Hash")
    return PBLink(hash_, name, tsize)


def decode_pbnode(block: bytes | memoryview) -> PBNode:
    """Parse a dag-pb block; `data` is a view into `block` (no copy of a 256 KiB leaf)."""
    reader = _Reader(memoryview(block))
    links: list[PBLink] = []
    data: memoryview | None = None
    while reader.more():
        number, wire = reader.key()
        if number == 2:
            _expect(wire, _WIRE_LEN, "PBNode.Links")
            links.append(_decode_link(reader.length_delimited()))
        elif number == 1:
            _expect(wire, _WIRE_LEN, "PBNode.Data")
            data = reader.length_delimited()
        else:
            raise CorruptDag(f"unknown PBNode field {number}")
    return PBNode(tuple(links), data)


def decode_unixfs(buf: memoryview) -> UnixFSData:
    """Parse a UnixFS `Data` message (the payload of a dag-pb node)."""
    reader = _Reader(buf)
    type_: int | None = None
    data: memoryview | None = None
    filesize: int | None = None
    blocksizes: list[int] = []
    while reader.more():
        number, wire = reader.key()
        if number == 1:
            _expect(wire, _WIRE_VARINT, "Data.Type")
            type_ = reader.varint()
        elif number == 2:
            _expect(wire, _WIRE_LEN, "Data.Data")
            data = reader.length_delimited()
        elif number == 3:
            _expect(wire, _WIRE_VARINT, "Data.filesize")
            filesize = reader.varint()
        elif number == 4 and wire == _WIRE_VARINT:
            blocksizes.append(reader.varint())
        elif number == 4 and wire == _WIRE_LEN:  # packed form, accepted on read
            packed = reader.length_delimited()
            inner = _Reader(packed)
            while inner.more():
                blocksizes.append(inner.varint())
        else:
            reader.skip(wire)
    if type_ is None:
        raise CorruptDag("UnixFS Data without a Type")
    return UnixFSData(type_, data, filesize, tuple(blocksizes))
