"""EIP-712 typed data of the three messages, signing with a key or an account, recovery, and headers
(the messages themselves are described in the package docstring)."""

from __future__ import annotations

import hashlib
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from chain import JobId

DOMAIN_NAME = "crowdcompute-gateway"
DOMAIN_VERSION = "2"

ADDRESS_HEADER = "X-Crowd-Address"
EXPIRY_HEADER = "X-Crowd-Expiry"
NONCE_HEADER = "X-Crowd-Nonce"
BODY_HASH_HEADER = "X-Crowd-Body-Hash"
SIGNATURE_HEADER = "X-Crowd-Signature"
API_KEY_HEADER = "X-API-Key"

_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
]
REQUEST_TYPE = [
    {"name": "method", "type": "string"},
    {"name": "path", "type": "string"},
    {"name": "expiry", "type": "uint64"},
    {"name": "nonce", "type": "bytes32"},
    {"name": "bodyHash", "type": "bytes32"},
    {"name": "gateway", "type": "string"},
]
LOG_BATCH_TYPE = [
    {"name": "jobId", "type": "uint256"},
    {"name": "fromSeq", "type": "uint64"},
    {"name": "linesHash", "type": "bytes32"},
    {"name": "expiry", "type": "uint64"},
]
PROVIDER_REPORT_TYPE = [
    {"name": "jobId", "type": "uint256"},
    {"name": "bodyHash", "type": "bytes32"},
    {"name": "expiry", "type": "uint64"},
]

Signer = LocalAccount | str | bytes
"""An account object (the key never leaves it), or a private key."""


def _typed_data(
    chain_id: int, primary: str, fields: list[dict[str, str]], message: dict[str, Any]
) -> dict[str, Any]:
    return {
        "types": {"EIP712Domain": _DOMAIN_TYPE, primary: fields},
        "primaryType": primary,
        "domain": {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": chain_id},
        "message": message,
    }


def request_typed_data(
    chain_id: int, method: str, path: str, expiry: int, nonce: str, body_hash: str, gateway: str
) -> dict[str, Any]:
    return _typed_data(
        chain_id,
        "Request",
        REQUEST_TYPE,
        {
            "method": method.upper(),
            "path": path,
            "expiry": expiry,
            "nonce": nonce,
            "bodyHash": body_hash,
            "gateway": gateway.lower(),
        },
    )


def log_batch_typed_data(
    chain_id: int, job_id: JobId, from_seq: int, lines_hash: str, expiry: int
) -> dict[str, Any]:
    return _typed_data(
        chain_id,
        "LogBatch",
        LOG_BATCH_TYPE,
        {"jobId": job_id, "fromSeq": from_seq, "linesHash": lines_hash, "expiry": expiry},
    )


def provider_report_typed_data(chain_id: int, job_id: JobId, body_hash: str, expiry: int) -> dict[str, Any]:
    return _typed_data(
        chain_id,
        "ProviderReport",
        PROVIDER_REPORT_TYPE,
        {"jobId": job_id, "bodyHash": body_hash, "expiry": expiry},
    )


def lines_hash(body: bytes) -> str:
    return "0x" + keccak(body).hex()


def body_hash(body: bytes) -> str:
    """A `Request`'s `bodyHash`: SHA-256 of the uploaded bytes, 0x + 64 hex digits."""
    return "0x" + hashlib.sha256(body).hexdigest()


def file_body_hash(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """`body_hash` of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(chunk_bytes):
            digest.update(chunk)
    return "0x" + digest.hexdigest()


_DEFAULT_PORTS = {"http": 80, "https": 443}


def gateway_authority(url: str) -> str:
    """A `Request`'s `gateway` for a gateway at `url`: the Host header an HTTP client sends there
    (lower-case host, and the port unless it is the scheme's default), e.g. ``127.0.0.1:8000``."""
    parts = urlsplit(url if "//" in url else f"http://{url}")
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    return host if port is None or _DEFAULT_PORTS.get(parts.scheme) == port else f"{host}:{port}"


def recover_signer(typed_data: dict[str, Any], signature: str) -> str:
    """The lower-case address that signed `typed_data`; a malformed signature raises (eth-account raises
    several types: ValueError, eth_utils' ValidationError, ...)."""
    address: str = Account.recover_message(encode_typed_data(full_message=typed_data), signature=signature)
    return address.lower()


def _account(signer: Signer) -> LocalAccount:
    if isinstance(signer, LocalAccount):
        return signer
    account: LocalAccount = Account.from_key(signer)
    return account


def sign_typed_data(signer: Signer, typed_data: dict[str, Any]) -> str:
    signed = _account(signer).sign_message(encode_typed_data(full_message=typed_data))
    return "0x" + bytes(signed.signature).hex()


def new_nonce() -> str:
    return "0x" + secrets.token_hex(32)


def request_headers(
    signer: Signer,
    chain_id: int,
    method: str,
    path: str,
    *,
    gateway: str,
    body_hash: str,
    expiry: int | None = None,
    nonce: str | None = None,
    ttl_s: int = 60,
) -> dict[str, str]:
    """Headers that authorise one request to `method path` on `gateway` (the Host the client addresses,
    `gateway_authority`) carrying the bytes whose SHA-256 is `body_hash` (`body_hash`, `file_body_hash`):
    what the dApp computes with its wallet."""
    account = _account(signer)
    expiry = int(time.time()) + ttl_s if expiry is None else expiry
    nonce = new_nonce() if nonce is None else nonce
    typed = request_typed_data(chain_id, method, path, expiry, nonce, body_hash, gateway)
    return {
        ADDRESS_HEADER: account.address,
        EXPIRY_HEADER: str(expiry),
        NONCE_HEADER: nonce,
        BODY_HASH_HEADER: body_hash,
        SIGNATURE_HEADER: sign_typed_data(account, typed),
    }


def log_batch_headers(
    signer: Signer,
    chain_id: int,
    job_id: JobId,
    from_seq: int,
    body: bytes,
    *,
    expiry: int | None = None,
    ttl_s: int = 60,
) -> dict[str, str]:
    """Headers that authorise pushing `body` (a log batch, `log_batch_body`) as job `job_id`'s log lines
    from `from_seq` on."""
    account = _account(signer)
    expiry = int(time.time()) + ttl_s if expiry is None else expiry
    typed = log_batch_typed_data(chain_id, job_id, from_seq, lines_hash(body), expiry)
    return {
        ADDRESS_HEADER: account.address,
        EXPIRY_HEADER: str(expiry),
        SIGNATURE_HEADER: sign_typed_data(account, typed),
    }


def provider_report_headers(
    signer: Signer,
    chain_id: int,
    job_id: JobId,
    body: bytes,
    *,
    expiry: int | None = None,
    ttl_s: int = 60,
) -> dict[str, str]:
    """Headers that authorise posting `body` (one report, `report_body`) about job `job_id`."""
    account = _account(signer)
    expiry = int(time.time()) + ttl_s if expiry is None else expiry
    typed = provider_report_typed_data(chain_id, job_id, lines_hash(body), expiry)
    return {
        ADDRESS_HEADER: account.address,
        EXPIRY_HEADER: str(expiry),
        SIGNATURE_HEADER: sign_typed_data(account, typed),
    }
