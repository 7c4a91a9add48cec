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
    EXPIRY_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    request_headers,
)
from tests.api.bundle_archives import JOB_FILES, tar_gz
from tests.api.gateway_keys import OTHER_KEY, PROVIDER_KEY, TEST_API_KEY

ARCHIVE = tar_gz(JOB_FILES)


def post(client: TestClient, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post("/bundles", files={"file": ("job.tar.gz", ARCHIVE)}, headers=headers)


def signed(path: str = "/bundles", **kwargs: object) -> dict[str, str]:
    return request_headers(PROVIDER_KEY, 31337, "POST", path, **kwargs)  # type: ignore[arg-type]


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
    with TestClient(create_app(settings)) as client:
        assert post(client, headers).status_code == 201
    with TestClient(create_app(settings)) as client:
        assert post(client, headers).status_code == 401


def test_unknown_api_key_gets_403_and_no_credentials_401(client: TestClient) -> None:
    unknown = post(client, {API_KEY_HEADER: "guess"})
    assert unknown.status_code == 403 and unknown.json()["detail"] == "unknown API key"
    assert post(client, {}).status_code == 401


def test_rate_limit_per_address_with_retry_after(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(rate_limit_per_minute=1.0, rate_limit_burst=2)
    with TestClient(create_app(settings)) as client:
        assert [post(client, signed()).status_code for _ in range(2)] == [201, 201]
        limited = post(client, signed())
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["code"] == "rate_limited"
        # Another address has its own bucket.
        other = request_headers(OTHER_KEY, 31337, "POST", "/bundles")
        assert post(client, other).status_code == 201
        # API-key callers are limited per IP.
        assert [post(client, {API_KEY_HEADER: TEST_API_KEY}).status_code for _ in range(3)] == [201, 201, 429]
