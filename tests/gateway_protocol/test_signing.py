"""The gateway's two signed messages as documented (gateway_protocol's docstring, api/README.md): the
domain, the typed data, signing with a key or an account, recovery, and the headers of each message."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak

from gateway_protocol import (
    ADDRESS_HEADER,
    BODY_HASH_HEADER,
    EXPIRY_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    LogLineWire,
    body_hash,
    file_body_hash,
    gateway_authority,
    lines_hash,
    log_batch_body,
    log_batch_headers,
    log_batch_typed_data,
    log_path,
    new_nonce,
    recover_signer,
    request_headers,
    request_typed_data,
    sign_typed_data,
)

KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # anvil's dev key 1
ADDRESS = Account.from_key(KEY).address
NONCE = "0x" + "ab" * 32
EXPIRY = 1_900_000_000
GATEWAY = "127.0.0.1:8000"
BODY = b"the uploaded bytes"
BODY_HASH = "0x" + hashlib.sha256(BODY).hexdigest()


def request(
    chain_id: int = 31337, path: str = "/bundles", body_hash: str = BODY_HASH, gateway: str = GATEWAY
) -> dict[str, Any]:
    return request_typed_data(chain_id, "post", path, EXPIRY, NONCE, body_hash, gateway)


def headers_for(signer: object = KEY, **kwargs: object) -> dict[str, str]:
    kwargs.setdefault("expiry", EXPIRY)
    kwargs.setdefault("nonce", NONCE)
    return request_headers(signer, 31337, "POST", "/bundles", gateway=GATEWAY, body_hash=BODY_HASH, **kwargs)  # type: ignore[arg-type]


def test_the_signed_request_is_the_documented_one() -> None:
    headers = headers_for()
    typed = request()
    assert typed["domain"] == {"name": "crowdcompute-gateway", "version": "2", "chainId": 31337}
    assert typed["primaryType"] == "Request"
    fields = [field["name"] for field in typed["types"]["Request"]]
    assert fields == ["method", "path", "expiry", "nonce", "bodyHash", "gateway"]
    assert typed["message"] == {
        "method": "POST",
        "path": "/bundles",
        "expiry": EXPIRY,
        "nonce": NONCE,
        "bodyHash": BODY_HASH,
        "gateway": GATEWAY,
    }
    assert headers == {
        ADDRESS_HEADER: ADDRESS,
        EXPIRY_HEADER: str(EXPIRY),
        NONCE_HEADER: NONCE,
        BODY_HASH_HEADER: BODY_HASH,
        SIGNATURE_HEADER: headers[SIGNATURE_HEADER],
    }
    assert recover_signer(typed, headers[SIGNATURE_HEADER]) == ADDRESS.lower()


def test_the_body_hash_is_sha256_of_the_bytes(tmp_path: Path) -> None:
    assert body_hash(BODY) == BODY_HASH
    (tmp_path / "body").write_bytes(BODY * 100_000)
    assert file_body_hash(tmp_path / "body", chunk_bytes=4096) == body_hash(BODY * 100_000)


@pytest.mark.parametrize(
    ("url", "authority"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000"),
        ("http://127.0.0.1:8000/", "127.0.0.1:8000"),
        ("https://Gateway.Example.org", "gateway.example.org"),
        ("https://gateway.example.org:443/api", "gateway.example.org"),
        ("http://gateway.example.org:80", "gateway.example.org"),
        ("http://[::1]:8000", "[::1]:8000"),
        ("localhost:8000", "localhost:8000"),
    ],
)
def test_the_gateway_is_the_host_header_a_client_sends(url: str, authority: str) -> None:
    assert gateway_authority(url) == authority


def test_the_signed_log_batch_is_the_documented_one() -> None:
    body = b'{"lines":[{"seq":3,"text":"step 3","stream":"stdout","ts":1.5}]}'
    headers = log_batch_headers(KEY, 31337, 7, 3, body, expiry=EXPIRY)
    # No nonce: a replayed batch stores nothing new.
    assert set(headers) == {ADDRESS_HEADER, EXPIRY_HEADER, SIGNATURE_HEADER}
    typed = log_batch_typed_data(31337, 7, 3, "0x" + keccak(body).hex(), EXPIRY)
    fields = [field["name"] for field in typed["types"]["LogBatch"]]
    assert fields == ["jobId", "fromSeq", "linesHash", "expiry"]
    assert recover_signer(typed, headers[SIGNATURE_HEADER]) == ADDRESS.lower()
    other = log_batch_typed_data(31337, 7, 3, lines_hash(body + b" "), EXPIRY)
    assert recover_signer(other, headers[SIGNATURE_HEADER]) != ADDRESS.lower(), "the hash covers the bytes"


def test_a_key_and_its_account_sign_alike() -> None:
    typed = request()
    assert sign_typed_data(KEY, typed) == sign_typed_data(Account.from_key(KEY), typed)
    by_account = log_batch_headers(Account.from_key(KEY), 1, 2, 0, b"{}", expiry=EXPIRY)
    assert by_account == log_batch_headers(KEY, 1, 2, 0, b"{}", expiry=EXPIRY)


def test_another_chain_path_body_or_gateway_does_not_recover_the_signer() -> None:
    headers = headers_for()
    for typed in (
        request(chain_id=1),
        request(path="/jobs/1/logs"),
        request(body_hash=body_hash(BODY + b" ")),
        request(gateway="127.0.0.1:8001"),
    ):
        assert recover_signer(typed, headers[SIGNATURE_HEADER]) != ADDRESS.lower()


def test_headers_default_to_a_fresh_nonce_and_a_near_expiry() -> None:
    first, second = (
        request_headers(KEY, 31337, "POST", "/bundles", gateway=GATEWAY, body_hash=BODY_HASH, ttl_s=30)
        for _ in range(2)
    )
    assert first[NONCE_HEADER] != second[NONCE_HEADER] and len(new_nonce()) == 66
    assert 0 < int(first[EXPIRY_HEADER]) - int(time.time()) <= 30


def test_a_malformed_signature_is_refused() -> None:
    with pytest.raises(Exception, match="signature length"):
        recover_signer(request(), "0x1234")


def test_a_log_batch_body_is_compact_json_of_its_lines() -> None:
    lines: list[LogLineWire] = [{"seq": 0, "text": "héllo", "stream": "stdout", "ts": None}]
    body = log_batch_body(lines)
    assert body == b'{"lines":[{"seq":0,"text":"h\\u00e9llo","stream":"stdout","ts":null}]}'
    assert json.loads(body) == {"lines": lines}
    assert log_path(12) == "/jobs/12/logs"
