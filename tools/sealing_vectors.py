"""Write frontend/src/lib/sealing/vectors.json: fixed inputs and Python's outputs for the dApp's sealing code.

The browser must derive the same requester keys and content keys from the fixed signature, open the
sealed streams and the key seal below. Every input is fixed (anvil's public dev key #0 signs the key
message; salts, keys and the HPKE ephemeral key are constant patterns), so the file is the same on
every run: `python tools/sealing_vectors.py --check` fails when it is stale.

    PYTHONPATH=. .venv/bin/python tools/sealing_vectors.py [--check]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
from pathlib import Path
from typing import Any

from eth_account import Account

from chain.dev_accounts import DEV_PRIVATE_KEYS
from jobs.sealing.keys import KeyPair
from jobs.sealing.requester import RequesterKeys, key_message
from jobs.sealing.seals import seal_info, seal_key
from jobs.sealing.stream import seal_stream

OUTPUT = Path(__file__).resolve().parent.parent / "frontend/src/lib/sealing/vectors.json"
CHAIN_ID = 31337


def _pattern(label: str, size: int) -> bytes:
    """`size` fixed bytes from a label (SHA-256 in counter mode): readable inputs, no randomness."""
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{label}|{counter}".encode()).digest()
        counter += 1
    return out[:size]


def _requester() -> tuple[dict[str, Any], str]:
    account = Account.from_key(DEV_PRIVATE_KEYS[0])
    message = key_message(CHAIN_ID, account.address)
    keys = RequesterKeys.from_account(account, CHAIN_ID)
    key_salt = _pattern("key_salt", 32)
    record = {
        "chain_id": CHAIN_ID,
        "account": account.address,
        "message": message,
        "signature": keys.signature.hex(),
        "x25519_private": keys.private.hex(),
        "x25519_public": keys.public.hex(),
        "key_salt": key_salt.hex(),
        "content_key": keys.content_key(key_salt).hex(),
    }
    return record, account.address


def _stream(name: str, key: bytes, context: str, plaintext: bytes, chunk_log2: int) -> dict[str, Any]:
    sealed = io.BytesIO()
    seal_stream(
        io.BytesIO(plaintext), sealed, key, context, chunk_log2=chunk_log2, salt=_pattern(f"salt|{name}", 16)
    )
    return {
        "name": name,
        "key": key.hex(),
        "context": context,
        "chunk_log2": chunk_log2,
        "plaintext": plaintext.hex(),
        "plaintext_sha256": hashlib.sha256(plaintext).hexdigest(),
        "sealed": sealed.getvalue().hex(),
    }


def build() -> dict[str, Any]:
    requester, address = _requester()
    content_key = bytes.fromhex(requester["content_key"])
    bundle_context = f"bundle|chain={CHAIN_ID}|requester={address.lower()}|salt={requester['key_salt']}"
    result_key = _pattern("result_key", 32)
    chunk_log2 = 10
    streams = [
        _stream(
            "bundle payload, 2.5 chunks", content_key, bundle_context, _pattern("payload", 2560), chunk_log2
        ),
        _stream("bundle payload, empty", content_key, bundle_context, b"", chunk_log2),
        _stream(
            "result file, exactly 2 chunks",
            result_key,
            f"result|chain={CHAIN_ID}|job=7|attempt=1|path=checkpoints/step-1.pt",
            _pattern("result", 2048),
            chunk_log2,
        ),
    ]
    recipient = KeyPair.from_private(_pattern("provider_x25519", 32))
    ephemeral = _pattern("hpke_ephemeral", 32)
    provider = Account.from_key(DEV_PRIVATE_KEYS[1]).address
    job_id = 7
    sealed = seal_key(
        content_key,
        recipient.public,
        chain_id=CHAIN_ID,
        job_id=job_id,
        recipient=provider,
        ephemeral_private=ephemeral,
    )
    key_seal = {
        "suite": {"kem": "0x0020", "kdf": "0x0001", "aead": "0x0001", "mode": "base"},
        "chain_id": CHAIN_ID,
        "job_id": job_id,
        "recipient": provider,
        "info": seal_info(chain_id=CHAIN_ID, job_id=job_id, recipient=provider).decode(),
        "aad": "",
        "recipient_private": recipient.private.hex(),
        "recipient_public": recipient.public.hex(),
        "ephemeral_private": ephemeral.hex(),
        "payload": content_key.hex(),
        "sealed": sealed.hex(),
    }
    return {
        "about": "docs/confidential.md interop vectors, written by tools/sealing_vectors.py; bytes are hex",
        "requester": requester,
        "streams": streams,
        "key_seal": key_seal,
    }


def render() -> str:
    return json.dumps(build(), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed file differs")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(f"{OUTPUT} is stale: run python tools/sealing_vectors.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
