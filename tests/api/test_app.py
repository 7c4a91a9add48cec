"""The app itself: health, readiness, the dApp's files, CORS, the OpenAPI schema, settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.main import create_app
from api.settings import DEV_API_KEY, Settings


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readiness_names_what_it_waits_for_when_the_rpc_is_down(
    client: TestClient, settings: Settings
) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False
    checks = {check["name"]: check for check in body["checks"]}
    assert not checks["rpc"]["ok"] and checks["rpc"]["detail"] == "RPC not usable: connection refused"
    assert not checks["deployment"]["ok"] and str(settings.deployment_file) in checks["deployment"]["detail"]
    assert len(body["waiting_for"]) == 2


def test_readiness_with_the_indexer_on_says_the_indexer_waits(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(indexer_enabled=True))
    with TestClient(app) as client:
        body = client.get("/readyz").json()
        indexer = next(c for c in body["checks"] if c["name"] == "indexer")
        assert not indexer["ok"]
        # The API keeps serving while the indexer waits for the chain.
        assert client.get("/jobs").json() == {"data": [], "count": 0}


def test_placeholder_until_the_dapp_is_built(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200 and "dApp is not built yet" in response.text
    assert client.get("/no-such-page").status_code == 404


def test_serves_the_built_dapp_with_spa_fallback(client: TestClient, settings: Settings) -> None:
    dist = settings.frontend_dist
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<html>dapp</html>")
    (dist / "assets" / "app.js").write_text("console.log(1)")
    assert client.get("/").text == "<html>dapp</html>"
    assert client.get("/assets/app.js").text == "console.log(1)"
    assert client.get("/post").text == "<html>dapp</html>"
    assert client.get("/../../etc/passwd").text == "<html>dapp</html>"
    # API routes are not shadowed by the fallback.
    assert client.get("/jobs").json()["count"] == 0


def test_cors_allows_the_dev_server(client: TestClient) -> None:
    response = client.options(
        "/bundles",
        headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"},
    )
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
    other = client.get("/healthz", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_every_route_has_a_success_schema(app: FastAPI) -> None:
    schema = app.openapi()
    documented = {(path, method) for path, ops in schema["paths"].items() for method in ops}
    for route in app.routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            for method in route.methods:
                assert (route.path, method.lower()) in documented, (
                    f"{method} {route.path} missing from OpenAPI"
                )
    missing = []
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            ok = [
                code
                for code, response in op["responses"].items()
                if code.startswith("2") and any(c.get("schema") for c in response.get("content", {}).values())
            ]
            if not ok:
                missing.append(f"{method.upper()} {path}")
    assert not missing, f"routes without a 2xx response schema: {missing}"
    assert {
        "/bundles",
        "/ipfs/{cid}",
        "/jobs",
        "/jobs/{job_id}",
        "/jobs/{job_id}/logs",
        "/providers",
        "/providers/{address}",
        "/validators",
        "/stats",
        "/schema/manifest",
        "/healthz",
        "/readyz",
    } <= set(schema["paths"])
    upload_body = schema["paths"]["/bundles"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload_body


def test_manifest_schema_is_served(client: TestClient) -> None:
    schema = client.get("/schema/manifest").json()
    assert {"runtime", "resources", "verification"} <= set(schema["properties"])


def test_settings_refuse_the_dev_key_outside_development(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="development API key"):
        Settings(_env_file=None, environment="production", api_keys=[DEV_API_KEY], data_dir=tmp_path)  # type: ignore[call-arg, list-item]
    Settings(_env_file=None, environment="production", api_keys=[], data_dir=tmp_path)  # type: ignore[call-arg]


def test_settings_default_to_production_with_no_api_key(tmp_path: Path) -> None:
    default = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert default.environment == "production" and default.api_keys == []
    chosen = Settings(_env_file=None, environment="development", data_dir=tmp_path)  # type: ignore[call-arg]
    assert [k.get_secret_value() for k in chosen.api_keys] == [DEV_API_KEY]
