"""HKDF-SHA256 with 32-byte output, the one derivation every key of docs/confidential.md uses."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    # An empty salt is RFC 5869's default (HashLen zero bytes); cryptography wants None for it.
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt or None, info=info).derive(ikm)
