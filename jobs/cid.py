"""Content identifiers (CIDs) for the two block kinds the store makes, without a multiformats library.

Only sha2-256 is supported, and only the codecs a UnixFS file needs: `raw` (0x55, leaves added with
`--raw-leaves`) and `dag-pb` (0x70, UnixFS nodes). Text forms:

- CIDv0: base58btc of the multihash (`Qm...`), always dag-pb.
- CIDv1: multibase `b` (base32, lower case, no padding) of `<version><codec><multihash>` (`bafy...`,
  `bafk...`). Parsing also accepts `B` (upper-case base32) and `z` (base58btc), which Kubo can print.

The chain stores a CID as `bytes32 digest` plus `uint8 codec` (`to_chain` / `from_chain`). Two CIDs that
differ only in version name the same block, so `Cid` equality and hashing ignore the version.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Literal

from jobs.errors import JobsError

__all__ = [
    "SHA2_256",
    "Cid",
    "CidVersion",
    "Codec",
    "InvalidCid",
    "b58decode",
    "b58encode",
    "block_cid",
    "parse_cid",
]

SHA2_256 = 0x12
DIGEST_SIZE = 32
CidVersion = Literal[0, 1]

_B58_ALPHABET = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {char: index for index, char in enumerate(_B58_ALPHABET)}
_MULTIHASH_PREFIX = bytes((SHA2_256, DIGEST_SIZE))


class InvalidCid(JobsError, ValueError):
    """A CID text or byte form that cannot be parsed, or a digest/codec pair we do not support."""


class Codec(IntEnum):
    """Multicodec codes of the block formats a UnixFS file is made of."""

    RAW = 0x55
    DAG_PB = 0x70


def b58encode(data: bytes) -> str:
    """Bitcoin-alphabet base58 of `data` (leading zero bytes become leading '1's)."""
    number = int.from_bytes(data, "big")
    out = bytearray()
    while number:
        number, rem = divmod(number, 58)
        out.append(_B58_ALPHABET[rem])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return (b"1" * zeros + bytes(reversed(out))).decode("ascii")


def b58decode(text: str) -> bytes:
    """Inverse of `b58encode`; raises `InvalidCid` on a character outside the alphabet."""
    number = 0
    for char in text.encode("ascii", "replace"):
        digit = _B58_INDEX.get(char)
        if digit is None:
            raise InvalidCid(f"invalid base58 character {chr(char)!r}")
        number = number * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def _b32encode(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def _b32decode(text: str) -> bytes:
    padded = text.upper() + "=" * (-len(text) % 8)
    try:
        return base64.b32decode(padded)
    except ValueError as exc:
        raise InvalidCid(f"invalid base32: {exc}") from None


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data) and shift < 63:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
    raise InvalidCid("truncated or overlong varint in CID")


@dataclass(frozen=True, slots=True)
class Cid:
    """A sha2-256 CID: the 32-byte digest, the codec, and the version used when printed.

    `str(cid)` is the canonical text for its version. `version` does not take part in equality: the v0 and
    v1 forms of one dag-pb node are the same block (the store keys blocks by digest, the chain stores the
    same bytes32 + codec for both).
    """

    digest: bytes
    codec: Codec
    version: CidVersion = field(default=1, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.digest, bytes) or len(self.digest) != DIGEST_SIZE:
            raise InvalidCid("a CID digest is 32 bytes (sha2-256)")
        try:
            object.__setattr__(self, "codec", Codec(self.codec))
        except ValueError:
            raise InvalidCid(
                f"unsupported codec 0x{int(self.codec):x} (raw 0x55 and dag-pb 0x70 only)"
            ) from None
        if self.version not in (0, 1):
            raise InvalidCid(f"unsupported CID version {self.version}")
        if self.version == 0 and self.codec is not Codec.DAG_PB:
            raise InvalidCid("a CIDv0 is always dag-pb")

    @classmethod
    def parse(cls, text: str) -> Cid:
        """Parse `Qm...` (v0) or a multibase v1 string (`b...`, `B...`, `z...`)."""
        text = text.strip()
        if not text:
            raise InvalidCid("empty CID")
        if len(text) == 46 and text.startswith("Qm"):
            return cls._from_multihash(b58decode(text), Codec.DAG_PB, 0)
        prefix, body = text[0], text[1:]
        if prefix in "bB":
            raw = _b32decode(body)
            if _b32encode(raw) != body.lower():  # non-zero trailing bits: not the canonical text of any CID
                raise InvalidCid(f"non-canonical base32 in CID {text!r}")
        elif prefix == "z":
            raw = b58decode(body)
        else:
            raise InvalidCid(f"unsupported CID text {text[:16]!r}: expected Qm... (v0) or base32 b... (v1)")
        if raw[:1] == b"\x12":
            raise InvalidCid("a multibase string holding a bare multihash is not a CIDv1")
        return cls.from_bytes(raw)

    @classmethod
    def from_bytes(cls, raw: bytes) -> Cid:
        """Parse the binary form found in dag-pb links: a bare multihash (v0) or `<1><codec><multihash>`."""
        raw = bytes(raw)
        if raw[:2] == _MULTIHASH_PREFIX:
            return cls._from_multihash(raw, Codec.DAG_PB, 0)
        version, pos = _read_varint(raw, 0)
        if version != 1:
            raise InvalidCid(f"unsupported CID version {version}")
        codec, pos = _read_varint(raw, pos)
        if codec not in (Codec.RAW, Codec.DAG_PB):
            raise InvalidCid(f"unsupported codec 0x{codec:x} (raw 0x55 and dag-pb 0x70 only)")
        return cls._from_multihash(raw[pos:], Codec(codec), 1)

    @classmethod
    def _from_multihash(cls, multihash: bytes, codec: Codec, version: CidVersion) -> Cid:
        if multihash[:1] != bytes((SHA2_256,)):
            raise InvalidCid("unsupported hash function (sha2-256 only)")
        if multihash[1:2] != bytes((DIGEST_SIZE,)) or len(multihash) != 2 + DIGEST_SIZE:
            raise InvalidCid("malformed sha2-256 multihash")
        return cls(multihash[2:], codec, version)

    @classmethod
    def from_chain(cls, digest: bytes, codec: int) -> Cid:
        """The CID whose `(digest, codec)` a contract stored; printed as CIDv1."""
        try:
            known = Codec(codec)
        except ValueError:
            raise InvalidCid(f"unsupported codec 0x{codec:x} (raw 0x55 and dag-pb 0x70 only)") from None
        return cls(bytes(digest), known, 1)

    def to_chain(self) -> tuple[bytes, int]:
        """`(bytes32 digest, uint8 codec)` as the contracts store a CID."""
        return self.digest, int(self.codec)

    @property
    def multihash(self) -> bytes:
        return _MULTIHASH_PREFIX + self.digest

    def to_bytes(self) -> bytes:
        """Binary CID: the bare multihash for v0, `0x01 <codec> <multihash>` for v1."""
        if self.version == 0:
            return self.multihash
        return bytes((1, int(self.codec))) + self.multihash

    def to_v0(self) -> Cid:
        if self.codec is not Codec.DAG_PB:
            raise InvalidCid("only a dag-pb CID has a v0 form")
        return Cid(self.digest, self.codec, 0)

    def to_v1(self) -> Cid:
        return Cid(self.digest, self.codec, 1)

    def matches(self, block: bytes | bytearray | memoryview) -> bool:
        """Whether `block` hashes to this CID's digest."""
        return hashlib.sha256(block).digest() == self.digest

    def __str__(self) -> str:
        if self.version == 0:
            return b58encode(self.multihash)
        return "b" + _b32encode(self.to_bytes())

    def __repr__(self) -> str:
        return f"Cid({str(self)!r})"


def parse_cid(value: str | Cid) -> Cid:
    """`value` as a `Cid` (a `Cid` passes through unchanged)."""
    return value if isinstance(value, Cid) else Cid.parse(value)


def block_cid(block: bytes | bytearray | memoryview, codec: Codec, version: CidVersion = 1) -> Cid:
    """The CID of one block's bytes."""
    return Cid(hashlib.sha256(block).digest(), codec, version)
