"""Fixtures of the gateway tests: settings in a temporary folder, an app, a TestClient, signing keys."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.settings import Settings
from chain.anvil import free_port
from tests.api.gateway_keys import PROVIDER_ADDRESS, PROVIDER_API_KEY, TEST_API_KEY, staked_in_tests
from tests.api.live_gateway import serve
from tests.api.postgres_cluster import INSTALL_HINT, PostgresCluster, pg_bin


@pytest.fixture
def make_settings(tmp_path: Path, index_db_url: str | None) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "environment": "test",
            "data_dir": tmp_path / "gateway",
            "deployments_dir": tmp_path / "deployments",
            "frontend_dist": tmp_path / "dist",
            "rpc_url": f"http://127.0.0.1:{free_port()}",
            "rpc_timeout_s": 1.0,
            "indexer_enabled": False,
            "store_fsync": False,
            "api_keys": [TEST_API_KEY, f"{PROVIDER_API_KEY}@{PROVIDER_ADDRESS}"],
            "rate_limit_per_minute": 6000.0,
            "rate_limit_burst": 1000,
            "allowed_hosts": ["127.0.0.1", "localhost", "testserver"],  # TestClient's Host is "testserver"
            "edge_rate_limit_per_minute": 60000.0,
            "edge_rate_limit_burst": 10000,
            "sse_poll_s": 0.05,
            "sse_heartbeat_s": 0.2,
            "database_url": index_db_url,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    from api.main import create_app

    app = create_app(settings)
    app.state.gateway.upload_stake = staked_in_tests  # uploads: no chain to read stakes from
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def live_url(app: FastAPI) -> Iterator[str]:
    """The app served by a real uvicorn on 127.0.0.1 (a thread of this process)."""
    with serve(app) as url:
        yield url


# --- the index on both backends (SQLite, PostgreSQL) ---
# A module that sets `INDEX_BACKENDS = ("sqlite", "postgresql")`, or a test marked
# `@pytest.mark.index_backends("sqlite", "postgresql")`, runs each test that uses `make_settings` or
# `index_db_url` once per backend. PostgreSQL is a throwaway cluster for the session.


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("index_backends")
    backends = marker.args if marker is not None else getattr(metafunc.module, "INDEX_BACKENDS", None)
    if backends and "index_backend" in metafunc.fixturenames:
        metafunc.parametrize("index_backend", backends, indirect=True)


@pytest.fixture
def index_backend(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    if os.environ.get("CROWDCOMPUTE_TEST_POSTGRES") == "0":
        pytest.skip("CROWDCOMPUTE_TEST_POSTGRES=0: the PostgreSQL-backed index tests are left out")
    if pg_bin() is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    # Not under pytest's tmp folder: the `postgres` user must reach the socket (pytest's is private to root).
    folder = Path(tempfile.mkdtemp(prefix="crowdcompute-pg-"))
    cluster = PostgresCluster(folder)
    try:
        cluster.start()
        yield cluster
        cluster.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def index_db_url(index_backend: str, request: pytest.FixtureRequest) -> str | None:
    """None on SQLite; on PostgreSQL the URL of a fresh schema in the session's cluster."""
    if index_backend != "postgresql":
        return None
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    return cluster.new_schema()
