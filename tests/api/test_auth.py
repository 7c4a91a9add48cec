"""Write authentication: EIP-712 request signatures, API keys, nonces, expiry and rate limits."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from gateway_protocol import (
    ADDRESS_HEADER,
    API_KEY_HEADER,
    BODY_HASH_HEADER,
    EXPIRY_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    body_hash,
    request_headers,
)
from tests.api.bundle_archives import JOB_FILES, tar_gz
from tests.api.gateway_keys import OTHER_KEY, PROVIDER_KEY, TEST_API_KEY, TEST_GATEWAY, staked_in_tests

INDEX_BACKENDS = ("sqlite", "postgresql")
"""Each test that builds the gateway runs on both index backends (tests/api/conftest.py)."""

ARCHIVE = tar_gz(JOB_FILES)


def staked_app(settings: Settings):  # type: ignore[no-untyped-def]
    app = create_app(settings)
    app.state.gateway.upload_stake = staked_in_tests
    return app


def post(client: TestClient, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post("/bundles", files={"file": ("job.tar.gz", ARCHIVE)}, headers=headers)


def signed(path: str = "/bundles", key: str = PROVIDER_KEY, **kwargs: object) -> dict[str, str]:
    kwargs.setdefault("gateway", TEST_GATEWAY)
    kwargs.setdefault("body_hash", body_hash(ARCHIVE))
    return request_headers(key, 31337, "POST", path, **kwargs)  # type: ignore[arg-type]


def test_a_good_signature_is_accepted(client: TestClient) -> None:
    response = post(client, signed())
    assert response.status_code == 201, response.text
    owner = client.app.state.gateway.db.connection().execute("SELECT uploaded_by FROM bundles").fetchone()[0]  # type: ignore[attr-defined]
    assert owner == Account.from_key(PROVIDER_KEY).address.lower()


def test_an_api_key_is_accepted(client: TestClient) -> None:
    assert post(client, {API_KEY_HEADER: TEST_API_KEY}).status_code == 201


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda h: {**h, ADDRESS_HEADER: Account.from_key(OTHER_KEY).address}, "bad signature"),
        (lambda h: {**h, SIGNATURE_HEADER: "0x1234"}, "malformed signature"),
        (lambda h: {**h, NONCE_HEADER: "0x" + "cd" * 32}, "bad signature"),
        (lambda h: {**h, EXPIRY_HEADER: str(int(h[EXPIRY_HEADER]) + 1)}, "bad signature"),
        (lambda h: {k: v for k, v in h.items() if k != NONCE_HEADER}, "missing X-Crowd-Nonce"),
        (lambda h: {**h, NONCE_HEADER: "123"}, "64 hex digits"),
        (lambda h: {**h, EXPIRY_HEADER: "soon"}, "unix seconds"),
        (lambda h: {k: v for k, v in h.items() if k != BODY_HASH_HEADER}, "missing X-Crowd-Body-Hash"),
        (lambda h: {**h, BODY_HASH_HEADER: "0x" + "00" * 32}, "bad signature"),
    ],
)
def test_bad_signatures_get_401(
    client: TestClient, tamper: Callable[[dict[str, str]], dict[str, str]], reason: str
) -> None:
    response = post(client, tamper(signed()))
    assert response.status_code == 401
    assert reason in response.json()["detail"]


def test_a_signature_for_another_path_gets_401(client: TestClient) -> None:
    response = post(client, signed("/jobs/1/logs"))
    assert response.status_code == 401 and "bad signature" in response.json()["detail"]


def test_expired_and_far_future_signatures_get_401(client: TestClient) -> None:
    expired = post(client, signed(expiry=int(time.time()) - 5))
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    future = post(client, signed(expiry=int(time.time()) + 3600))
    assert future.status_code == 401 and "more than 300 s ahead" in future.json()["detail"]


def test_a_replayed_request_gets_401(client: TestClient) -> None:
    headers = signed()
    assert post(client, headers).status_code == 201
    replay = post(client, headers)
    assert replay.status_code == 401 and "replayed" in replay.json()["detail"]


def test_nonces_survive_a_restart(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    headers = signed()
    with TestClient(staked_app(settings)) as client:
        assert post(client, headers).status_code == 201
    with TestClient(staked_app(settings)) as client:
        assert post(client, headers).status_code == 401


def test_unknown_api_key_gets_403_and_no_credentials_401(client: TestClient) -> None:
    unknown = post(client, {API_KEY_HEADER: "guess"})
    assert unknown.status_code == 403 and unknown.json()["detail"] == "unknown API key"
    assert post(client, {}).status_code == 401


def test_rate_limit_per_address_with_retry_after(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(rate_limit_per_minute=1.0, rate_limit_burst=2)
    with TestClient(staked_app(settings)) as client:
        assert [post(client, signed()).status_code for _ in range(2)] == [201, 201]
        limited = post(client, signed())
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["code"] == "rate_limited"
        # Another address has its own bucket.
        other = signed(key=OTHER_KEY)
        assert post(client, other).status_code == 201
        # API-key callers are limited per IP.
        assert [post(client, {API_KEY_HEADER: TEST_API_KEY}).status_code for _ in range(3)] == [201, 201, 429]


def stored(client: TestClient) -> tuple[list[str], list[str]]:
    """(pins, block files) of the gateway's store."""
    gateway = client.app.state.gateway  # type: ignore[attr-defined]
    blocks = gateway.settings.store_settings().store_dir / "blocks"
    files = [str(p) for p in blocks.rglob("*") if p.is_file()] if blocks.exists() else []
    return [str(c) for c in gateway.store.pins()], files


def test_a_signed_upload_with_other_bytes_is_refused_and_stores_nothing(client: TestClient) -> None:
    other = tar_gz({**JOB_FILES, "extra.txt": b"not what was signed"})
    response = client.post("/bundles", files={"file": ("job.tar.gz", other)}, headers=signed())
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["code"] == "body_hash_mismatch"
    assert body_hash(ARCHIVE) in body["detail"] and body_hash(other) in body["detail"]
    assert stored(client) == ([], [])


def test_a_request_signed_for_another_gateway_is_refused(client: TestClient) -> None:
    response = post(client, signed(gateway="gateway-a.example:8000"))
    assert response.status_code == 401
    detail = response.json()["detail"]
    assert "bad signature" in detail and f"gateway {TEST_GATEWAY!r}" in detail
    # The Host the client addressed is what is signed, in any letter case.
    assert post(client, signed(gateway=TEST_GATEWAY.upper())).status_code == 201


SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def high_s_twin(signature: str) -> str:
    """The other valid signature of the same message by the same key: (r, n - s, v flipped)."""
    raw = bytes.fromhex(signature[2:])
    s = int.from_bytes(raw[32:64], "big")
    v = 27 if raw[64] == 28 else 28
    return "0x" + (raw[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([v])).hex()


def test_a_high_s_signature_is_refused(client: TestClient) -> None:
    headers = signed()
    twin = {**headers, SIGNATURE_HEADER: high_s_twin(headers[SIGNATURE_HEADER])}
    response = post(client, twin)
    assert response.status_code == 401
    assert response.json()["detail"].startswith("high-s signature: ")
    assert post(client, headers).status_code == 201, "the low-s original is still good (its nonce unused)"


@pytest.mark.parametrize(("v", "accepted"), [(0, True), (1, True), (29, False), (37, False)])
def test_only_v_27_28_0_1_is_accepted(client: TestClient, v: int, accepted: bool) -> None:
    headers = signed()
    raw = bytes.fromhex(headers[SIGNATURE_HEADER][2:])
    if v in (0, 1):
        v = raw[64] - 27  # the same recovery id written as 0/1
    response = post(client, {**headers, SIGNATURE_HEADER: "0x" + (raw[:64] + bytes([v])).hex()})
    if accepted:
        assert response.status_code == 201, response.text
    else:
        assert response.status_code == 401 and "v is" in response.json()["detail"]


def test_a_later_upload_of_the_same_content_keeps_the_first_uploader(client: TestClient) -> None:
    assert post(client, signed()).status_code == 201
    again = post(client, signed(key=OTHER_KEY))
    assert again.status_code == 201, "the later upload still succeeds"
    rows = client.app.state.gateway.db.connection().execute("SELECT uploaded_by FROM bundles").fetchall()  # type: ignore[attr-defined]
    assert [row[0] for row in rows] == [Account.from_key(PROVIDER_KEY).address.lower()]
