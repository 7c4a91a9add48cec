"""Errors the framework raises itself (a body that is not UTF-8 JSON, a method a path does not take) have the
gateway's error shape, `{code, detail}`, as the OpenAPI schema documents for every error."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


# Not log pushes: they authenticate from their headers before the body is read (401 here; see
# test_log_relay_limits.py).
@pytest.mark.parametrize("route", ["reports", "votes"])
def test_a_body_that_is_not_utf8_json_is_a_400_with_code_and_detail(client: TestClient, route: str) -> None:
    response = client.post(
        f"/jobs/1/{route}", content=b"\x14\xff\xfe", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_request" and "UTF-8 JSON" in body["detail"]


def test_a_method_the_path_does_not_take_is_a_405_with_code_and_allow(client: TestClient) -> None:
    response = client.put("/ipfs/bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert "GET" in response.headers["allow"]
