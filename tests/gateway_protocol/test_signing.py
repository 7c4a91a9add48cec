"""The gateway's two signed messages as documented (gateway_protocol's docstring, api/README.md): the
domain, the typed data, signing with a key or an account, recovery, and the headers of each message."""

from __future__ import annotations

import json
import time

import pytest
from eth_account import Account
from eth_utils import keccak

from gateway_protocol import (
    ADDRESS_HEADER,
    EXPIRY_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    LogLineWire,
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


def test_the_signed_request_is_the_documented_one() -> None:
    headers = request_headers(KEY, 31337, "POST", "/bundles", expiry=EXPIRY, nonce=NONCE)
    typed = request_typed_data(31337, "post", "/bundles", EXPIRY, NONCE)
    assert typed["domain"] == {"name": "crowdcompute-gateway", "version": "1", "chainId": 31337}
    assert typed["primaryType"] == "Request"
    assert [field["name"] for field in typed["types"]["Request"]] == ["method", "path", "expiry", "nonce"]
    assert typed["message"] == {"method": "POST", "path": "/bundles", "expiry": EXPIRY, "nonce": NONCE}
    assert headers == {
        ADDRESS_HEADER: ADDRESS,
        EXPIRY_HEADER: str(EXPIRY),
        NONCE_HEADER: NONCE,
        SIGNATURE_HEADER: headers[SIGNATURE_HEADER],
    }
    assert recover_signer(typed, headers[SIGNATURE_HEADER]) == ADDRESS.lower()


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
    typed = request_typed_data(31337, "POST", "/bundles", EXPIRY, NONCE)
    assert sign_typed_data(KEY, typed) == sign_typed_data(Account.from_key(KEY), typed)
    by_account = log_batch_headers(Account.from_key(KEY), 1, 2, 0, b"{}", expiry=EXPIRY)
    assert by_account == log_batch_headers(KEY, 1, 2, 0, b"{}", expiry=EXPIRY)


def test_another_chain_or_path_does_not_recover_the_signer() -> None:
    headers = request_headers(KEY, 31337, "POST", "/bundles", expiry=EXPIRY, nonce=NONCE)
    for typed in (
        request_typed_data(1, "POST", "/bundles", EXPIRY, NONCE),
        request_typed_data(31337, "POST", "/jobs/1/logs", EXPIRY, NONCE),
    ):
        assert recover_signer(typed, headers[SIGNATURE_HEADER]) != ADDRESS.lower()


def test_headers_default_to_a_fresh_nonce_and_a_near_expiry() -> None:
    first, second = (request_headers(KEY, 31337, "POST", "/bundles", ttl_s=30) for _ in range(2))
    assert first[NONCE_HEADER] != second[NONCE_HEADER] and len(new_nonce()) == 66
    assert 0 < int(first[EXPIRY_HEADER]) - int(time.time()) <= 30


def test_a_malformed_signature_is_refused() -> None:
    with pytest.raises(Exception, match="signature length"):
        recover_signer(request_typed_data(31337, "POST", "/bundles", EXPIRY, NONCE), "0x1234")


def test_a_log_batch_body_is_compact_json_of_its_lines() -> None:
    lines: list[LogLineWire] = [{"seq": 0, "text": "héllo", "stream": "stdout", "ts": None}]
    body = log_batch_body(lines)
    assert body == b'{"lines":[{"seq":0,"text":"h\\u00e9llo","stream":"stdout","ts":null}]}'
    assert json.loads(body) == {"lines": lines}
    assert log_path(12) == "/jobs/12/logs"
