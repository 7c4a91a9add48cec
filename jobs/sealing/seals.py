"""Key seals (docs/confidential.md, "Key seals"): a short key HPKE-sealed to one account's X25519 key.

Suite: DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-128-GCM, base mode, empty aad, and
info = "crowdcompute/key-seal/v1|chain=<id>|job=<id>|to=<0x lowercase recipient>".
A sealed key is enc (32 bytes) | ciphertext.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from pyhpke import AEADId, CipherSuite, KDFId, KEMId, KEMKey, KEMKeyPair
from pyhpke.exceptions import PyHPKEError

from jobs.sealing.errors import SealedKeyError
from jobs.sealing.keys import KeyPair

ENC_BYTES = 32
TAG_BYTES = 16
SUITE = CipherSuite.new(KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.AES128_GCM)


def seal_info(*, chain_id: int, job_id: int, recipient: str) -> bytes:
    return f"crowdcompute/key-seal/v1|chain={chain_id}|job={job_id}|to={recipient.lower()}".encode()


def seal_key(
    payload: bytes,
    recipient_public: bytes,
    *,
    chain_id: int,
    job_id: int,
    recipient: str,
    ephemeral_private: bytes | None = None,
) -> bytes:
    """`payload` sealed to `recipient_public` (32 bytes) for job `job_id` and account `recipient`.

    `ephemeral_private` fixes the sender's ephemeral key: only for the interop vectors, never in use.
    """
    if len(recipient_public) != ENC_BYTES:
        raise SealedKeyError(job_id, f"the recipient's public key is {len(recipient_public)} bytes, not 32")
    pkr = SUITE.kem.deserialize_public_key(recipient_public)
    eks = None
    if ephemeral_private is not None:
        private = X25519PrivateKey.from_private_bytes(ephemeral_private)
        eks = KEMKeyPair(
            KEMKey.from_pyca_cryptography_key(private),
            KEMKey.from_pyca_cryptography_key(private.public_key()),
        )
    info = seal_info(chain_id=chain_id, job_id=job_id, recipient=recipient)
    enc, context = SUITE.create_sender_context(pkr, info, eks=eks)
    return enc + context.seal(payload)


def open_key(
    sealed: bytes,
    private: X25519PrivateKey | KeyPair | bytes,
    *,
    chain_id: int,
    job_id: int,
    recipient: str,
) -> bytes:
    """The payload of a key seal; `SealedKeyError` when it is not for this key, job and recipient."""
    if len(sealed) < ENC_BYTES + TAG_BYTES:
        raise SealedKeyError(
            job_id, f"malformed: {len(sealed)} bytes, a sealed key is at least {ENC_BYTES + TAG_BYTES}"
        )
    if isinstance(private, KeyPair):
        private = private.private
    if isinstance(private, bytes):
        private = X25519PrivateKey.from_private_bytes(private)
    skr = KEMKey.from_pyca_cryptography_key(private)
    info = seal_info(chain_id=chain_id, job_id=job_id, recipient=recipient)
    try:
        context = SUITE.create_recipient_context(sealed[:ENC_BYTES], skr, info)
        return context.open(sealed[ENC_BYTES:])
    except (PyHPKEError, ValueError):
        raise SealedKeyError(
            job_id,
            "it does not open with this key: sealed to another recipient key or account, for another"
            " job or chain, or tampered",
        ) from None
