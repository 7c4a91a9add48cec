"""The index on a shared PostgreSQL database: two real gateway processes (one indexes, both serve, indexing
fails over when the indexing one is SIGKILLed), and `gateway serve` refusing a database it cannot use."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from typer.testing import CliRunner, Result

from api.cli import gateway_app
from api.db_postgres import PostgresDatabase
from api.errors import DatabaseUnusableError
from api.migrations import MIGRATIONS
from chain import Deployment, MarketClient, save_deployment
from chain.anvil import AnvilProcess, free_port
from tests.api.chain_cast import CHEAP_SPEC, make_cast
from tests.api.postgres_cluster import PostgresCluster

SERVE = "import sys; from api.cli import gateway_app; sys.exit(gateway_app())"


def gateway_env(data_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
    values = {
        "ENVIRONMENT": "test",
        "API_KEYS": '["k"]',
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "INDEXER_POLL_INTERVAL_S": "0.1",
        "INDEXER_STANDBY_POLL_S": "0.2",
        **extra,
    }
    return {**os.environ, **{f"CROWDCOMPUTE_GATEWAY_{k}": v for k, v in values.items()}}


def run_serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", SERVE, "serve", "--port", str(port)], env=env, stdout=out, stderr=out
        )


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def job_ids(port: int) -> set[int]:
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/jobs", params={"limit": 100}, timeout=5)
    except httpx.HTTPError:
        return set()
    return {job["id"] for job in response.json()["data"]} if response.status_code == 200 else set()


def indexer_state(port: int) -> str:
    checks = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json()["checks"]
    return next(c["detail"] for c in checks if c["name"] == "indexer")


@pytest.fixture
def two_gateways(
    postgres_cluster: PostgresCluster, anvil: AnvilProcess, deployment: Deployment, tmp_path: Path
) -> Iterator[list[tuple[subprocess.Popen[bytes], int]]]:
    url = postgres_cluster.new_schema()
    save_deployment(deployment, tmp_path / "deployments")
    started = []
    for name in ("a", "b"):
        env = gateway_env(
            tmp_path / name, url, RPC_URL=anvil.url, DEPLOYMENTS_DIR=str(tmp_path / "deployments")
        )
        port = free_port()
        started.append((run_serve(env, port, tmp_path / f"{name}.log"), port))
        if name == "a":  # the first to start takes the indexer lock
            wait_for(lambda: "indexed to block" in _detail(port), "gateway a indexing")  # noqa: B023
    try:
        yield started
    finally:
        for process, _ in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(15)


def _detail(port: int) -> str:
    try:
        return indexer_state(port)
    except (httpx.HTTPError, KeyError, StopIteration):
        return ""


def test_two_gateways_share_the_index_and_indexing_fails_over(
    two_gateways: list[tuple[subprocess.Popen[bytes], int]], market: MarketClient
) -> None:
    (first, first_port), (_, second_port) = two_gateways
    cast = make_cast(market)
    before = cast.requester.post_job(CHEAP_SPEC).job_id
    wait_for(lambda: before in job_ids(first_port) and before in job_ids(second_port), "both serving the job")
    wait_for(lambda: _detail(second_port).startswith("standby"), "the second gateway standing by")

    first.send_signal(signal.SIGKILL)
    first.wait(10)
    after = cast.requester.post_job(CHEAP_SPEC).job_id
    wait_for(lambda: after in job_ids(second_port), "the second gateway indexing the new job")
    wait_for(lambda: "indexed to block" in _detail(second_port), "/readyz saying the second one indexes")
    assert job_ids(second_port) >= {before, after}


def refusal(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Result:
    """`crowdcompute gateway serve` with `env` (in this process: the command's own code path)."""
    for name, value in env.items():
        if name.startswith("CROWDCOMPUTE_GATEWAY_"):
            monkeypatch.setenv(name, value)
    monkeypatch.chdir(Path(env["CROWDCOMPUTE_GATEWAY_DATA_DIR"]).parent)  # no .env from the working folder
    return CliRunner().invoke(gateway_app, ["serve", "--port", str(free_port()), "--no-indexer"])


def test_serve_refuses_a_database_that_does_not_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"postgresql://gw:hunter2@/index?host={tmp_path}"  # no server on that socket
    done = refusal(monkeypatch, gateway_env(tmp_path / "gw", url))
    assert done.exit_code != 0
    assert "gateway cannot start" in done.output and "does not answer" in done.output
    assert f"postgresql://gw:***@/index?host={tmp_path}" in done.output and "hunter2" not in done.output


def test_serve_refuses_a_schema_newer_than_it_knows(
    postgres_cluster: PostgresCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = postgres_cluster.new_schema()
    PostgresDatabase(url).close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (len(MIGRATIONS) + 1,))
    done = refusal(monkeypatch, gateway_env(tmp_path / "gw", url))
    assert done.exit_code != 0
    assert f"schema version {len(MIGRATIONS) + 1}, newer than this gateway knows" in done.output


def test_a_database_holding_someone_elses_tables_is_refused(postgres_cluster: PostgresCluster) -> None:
    url = postgres_cluster.new_schema()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE customers (id BIGINT)")
    with pytest.raises(DatabaseUnusableError, match=r"not a gateway index .*customers"):
        PostgresDatabase(url)


def test_a_second_process_finds_the_schema_migrated(postgres_cluster: PostgresCluster) -> None:
    url = postgres_cluster.new_schema()
    first, second = PostgresDatabase(url), PostgresDatabase(url)
    with psycopg.connect(url) as conn:
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_version ORDER BY version")]
    assert versions == list(range(1, len(MIGRATIONS) + 1))
    first.close()
    second.close()
