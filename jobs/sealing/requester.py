"""A requester's keys, derived from one wallet signature (docs/confidential.md, "Keys").

The wallet signs `key_message(chain_id, address)` (EIP-191 personal_sign; deterministic), and the
65-byte signature is the secret from which the browser and the CLI derive the same X25519 key pair and
every bundle's content key: nothing to back up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from eth_account.messages import encode_defunct
from eth_utils import to_checksum_address

from jobs.sealing.errors import SealingError
from jobs.sealing.kdf import hkdf_sha256
from jobs.sealing.keys import KeyPair

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

SIGNATURE_BYTES = 65
KEY_SALT_BYTES = 32
X25519_INFO = b"crowdcompute/requester-x25519/v1"
CONTENT_KEY_INFO = b"crowdcompute/content-key/v1"


def key_message(chain_id: int, address: str) -> str:
    """The exact text a requester signs to derive its keys."""
    return f"crowdcompute encryption key v1\nchain: {chain_id}\naccount: {to_checksum_address(address)}"


@dataclass(frozen=True)
class RequesterKeys:
    """The key pair and content keys derived from the requester's signature (never shown in a repr)."""

    signature: bytes = field(repr=False)
    pair: KeyPair

    @classmethod
    def from_signature(cls, sig: bytes) -> RequesterKeys:
        if len(sig) != SIGNATURE_BYTES:
            raise SealingError(
                f"a requester key signature is {SIGNATURE_BYTES} bytes, not {len(sig)};"
                " sign key_message(chain_id, address) with personal_sign"
            )
        private = hkdf_sha256(sig, b"", X25519_INFO)
        return cls(signature=sig, pair=KeyPair.from_private(private))

    @classmethod
    def from_account(cls, account: LocalAccount, chain_id: int) -> RequesterKeys:
        signed = account.sign_message(encode_defunct(text=key_message(chain_id, account.address)))
        return cls.from_signature(bytes(signed.signature))

    @property
    def public(self) -> bytes:
        return self.pair.public

    @property
    def private(self) -> bytes:
        return self.pair.private

    def content_key(self, key_salt: bytes) -> bytes:
        if len(key_salt) != KEY_SALT_BYTES:
            raise SealingError(f"a bundle's key_salt is {KEY_SALT_BYTES} bytes, not {len(key_salt)}")
        return hkdf_sha256(self.signature, key_salt, CONTENT_KEY_INFO)
