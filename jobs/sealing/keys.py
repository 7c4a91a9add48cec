"""X25519 key pairs as raw 32-byte halves, the form nodes store and the chain publishes."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

KEY_BYTES = 32


@dataclass(frozen=True)
class KeyPair:
    """An X25519 key pair; its repr never shows the private half."""

    private: bytes = field(repr=False)
    public: bytes

    def __post_init__(self) -> None:
        if len(self.private) != KEY_BYTES or len(self.public) != KEY_BYTES:
            raise ValueError("an X25519 key pair is two 32-byte halves")

    def __repr__(self) -> str:
        return f"KeyPair(public={self.public.hex()}, private=<redacted>)"

    @classmethod
    def generate(cls) -> KeyPair:
        return cls.from_private(X25519PrivateKey.generate().private_bytes_raw())

    @classmethod
    def from_private(cls, private: bytes) -> KeyPair:
        key = X25519PrivateKey.from_private_bytes(private)
        return cls(private=private, public=key.public_key().public_bytes_raw())
