"""Key seals (HPKE), requester keys from a wallet signature, and a node's key folder
(docs/confidential.md, "Keys" and "Key seals")."""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import os
import stat
from pathlib import Path
from types import ModuleType

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from eth_account import Account

from chain.dev_accounts import DEV_PRIVATE_KEYS
from jobs.sealing import KeyPair, NodeKeyring, RequesterKeys, SealedKeyError, key_message, open_key, seal_key
from jobs.sealing.seals import seal_info

ROOT = Path(__file__).resolve().parents[2]
REQUESTER = Account.from_key(DEV_PRIVATE_KEYS[0])
PROVIDER = Account.from_key(DEV_PRIVATE_KEYS[1]).address


# --- an independent RFC 9180 base-mode open for suite (0x0020, 0x0001, 0x0001), from the RFC's text ---
def _extract(suite: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt or bytes(32), b"HPKE-v1" + suite + label + ikm, hashlib.sha256).digest()


def _expand(suite: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    labeled = length.to_bytes(2, "big") + b"HPKE-v1" + suite + label + info
    return HKDFExpand(hashes.SHA256(), length, labeled).derive(prk)


def rfc9180_open(sealed: bytes, private: bytes, info: bytes) -> bytes:
    enc, ciphertext = sealed[:32], sealed[32:]
    key = X25519PrivateKey.from_private_bytes(private)
    dh = key.exchange(X25519PublicKey.from_public_bytes(enc))
    kem = b"KEM\x00\x20"
    kem_context = enc + key.public_key().public_bytes_raw()
    shared = _expand(kem, _extract(kem, b"", b"eae_prk", dh), b"shared_secret", kem_context, 32)
    suite = b"HPKE\x00\x20\x00\x01\x00\x01"
    context = b"\x00" + _extract(suite, b"", b"psk_id_hash", b"") + _extract(suite, b"", b"info_hash", info)
    secret = _extract(suite, shared, b"secret", b"")
    aead_key = _expand(suite, secret, b"key", context, 16)
    nonce = _expand(suite, secret, b"base_nonce", context, 12)
    return AESGCM(aead_key).decrypt(nonce, ciphertext, b"")


def test_a_key_seal_is_rfc9180_base_mode_with_the_documented_info() -> None:
    pair = KeyPair.generate()
    payload = os.urandom(64)
    sealed = seal_key(payload, pair.public, chain_id=31337, job_id=7, recipient=PROVIDER)
    info = f"crowdcompute/key-seal/v1|chain=31337|job=7|to={PROVIDER.lower()}".encode()
    assert seal_info(chain_id=31337, job_id=7, recipient=PROVIDER) == info
    assert len(sealed) == 32 + len(payload) + 16
    assert rfc9180_open(sealed, pair.private, info) == payload
    assert open_key(sealed, pair, chain_id=31337, job_id=7, recipient=PROVIDER) == payload
    assert open_key(sealed, pair.private, chain_id=31337, job_id=7, recipient=PROVIDER.lower()) == payload


def test_a_seal_to_another_key_job_chain_or_account_is_refused() -> None:
    pair = KeyPair.generate()
    sealed = seal_key(b"k" * 32, pair.public, chain_id=31337, job_id=7, recipient=PROVIDER)
    attempts = [
        (KeyPair.generate(), 31337, 7, PROVIDER),
        (pair, 31337, 8, PROVIDER),
        (pair, 1, 7, PROVIDER),
        (pair, 31337, 7, REQUESTER.address),
    ]
    for key, chain_id, job_id, recipient in attempts:
        with pytest.raises(SealedKeyError) as caught:
            open_key(sealed, key, chain_id=chain_id, job_id=job_id, recipient=recipient)
        assert f"job {job_id}" in str(caught.value)
        assert "does not open with this key" in str(caught.value)


def test_a_tampered_or_malformed_seal_is_refused() -> None:
    pair = KeyPair.generate()
    sealed = bytearray(seal_key(b"k" * 32, pair.public, chain_id=1, job_id=2, recipient=PROVIDER))
    sealed[40] ^= 1
    with pytest.raises(SealedKeyError, match="does not open"):
        open_key(bytes(sealed), pair, chain_id=1, job_id=2, recipient=PROVIDER)
    with pytest.raises(SealedKeyError, match="malformed"):
        open_key(b"\x01" * 40, pair, chain_id=1, job_id=2, recipient=PROVIDER)


def test_requester_keys_come_from_the_signature_of_the_documented_text() -> None:
    text = key_message(31337, REQUESTER.address.lower())
    assert text == (
        "crowdcompute encryption key v1\nchain: 31337\naccount: 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    )
    keys = RequesterKeys.from_account(REQUESTER, 31337)
    again = RequesterKeys.from_account(REQUESTER, 31337)  # RFC 6979: the same signature every time
    assert keys.public == again.public and keys.content_key(bytes(32)) == again.content_key(bytes(32))
    assert KeyPair.from_private(keys.private).public == keys.public
    assert keys.content_key(bytes(32)) != keys.content_key(b"\x01" * 32)
    assert RequesterKeys.from_account(REQUESTER, 1).public != keys.public
    assert "signature" not in repr(keys) or keys.signature.hex() not in repr(keys)


def load_vectors_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sealing_vectors", ROOT / "tools" / "sealing_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_interop_vectors_are_current_and_open_here() -> None:
    sealing_vectors = load_vectors_tool()
    committed = json.loads(sealing_vectors.OUTPUT.read_text())
    assert sealing_vectors.render() == sealing_vectors.OUTPUT.read_text(), "run tools/sealing_vectors.py"
    requester = committed["requester"]
    keys = RequesterKeys.from_signature(bytes.fromhex(requester["signature"]))
    assert keys.public.hex() == requester["x25519_public"]
    assert keys.content_key(bytes.fromhex(requester["key_salt"])).hex() == requester["content_key"]
    seal = committed["key_seal"]
    opened = rfc9180_open(
        bytes.fromhex(seal["sealed"]), bytes.fromhex(seal["recipient_private"]), seal["info"].encode()
    )
    assert opened.hex() == seal["payload"] == requester["content_key"]
    ephemeral = KeyPair.from_private(bytes.fromhex(seal["ephemeral_private"]))
    assert seal["sealed"][:64] == ephemeral.public.hex()  # enc is the fixed ephemeral's public key


def test_a_node_keyring_rotates_and_keeps_old_keys_findable(tmp_path: Path) -> None:
    ring = NodeKeyring(tmp_path / "encryption-keys")
    assert ring.current() is None and ring.all() == []
    first = ring.create()
    assert ring.current() == first
    keys = [first] + [ring.rotate() for _ in range(5)]  # within one mtime tick: order comes from the files
    for path in (tmp_path / "encryption-keys").iterdir():
        os.utime(path, (1_000_000, 1_000_000))
    assert ring.current() == keys[-1]
    assert ring.all() == keys
    for key in keys:
        assert ring.find(key.public) == key
    assert ring.find(b"\x00" * 32) is None
    reopened = NodeKeyring(tmp_path / "encryption-keys")
    assert reopened.current() == keys[-1]


def test_key_files_are_private_and_a_readable_one_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "encryption-keys"
    ring = NodeKeyring(folder)
    pair = ring.create()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = list(folder.iterdir())
    assert [path.name for path in files] == [f"{pair.public.hex()}.json"]
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert pair.private.hex() not in repr(pair) and "redacted" in repr(pair)
    os.chmod(files[0], 0o644)
    with pytest.raises(Exception, match="chmod 600"):
        ring.current()
