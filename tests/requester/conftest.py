"""Fixtures of the requester tests: the session's anvil (tests/conftest.py), an embedded store, a
registered provider, and a live gateway (uvicorn in a thread on 127.0.0.1) indexing that anvil."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from api.settings import Settings
from chain import Capabilities, Deployment, MarketClient, dev_account, save_deployment, tokens
from chain.anvil import AnvilProcess, free_port
from jobs.store import EmbeddedStore

REQUESTER_INDEX = 1
PROVIDER_INDEX = 2
STRANGER_INDEX = 3


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    with EmbeddedStore(tmp_path / "store", fsync=False) as shared:
        yield shared


@pytest.fixture
def deployments_dir(tmp_path: Path, deployment: Deployment) -> Path:
    """The session's deployment as a record on disk, for the CLI and the gateway."""
    folder = tmp_path / "deployments"
    save_deployment(deployment, folder)
    return folder


@pytest.fixture
def requester(market: MarketClient) -> MarketClient:
    return market.with_account(dev_account(REQUESTER_INDEX))


@pytest.fixture
def provider(market: MarketClient) -> MarketClient:
    """Dev account 2 as a provider: 2 CPU cores, 2 GiB, 200 CROWD staked."""
    client = market.with_account(dev_account(PROVIDER_INDEX))
    caps = Capabilities(cpu_cores=2, memory_mib=2048, price_per_hour=tokens(1))
    client.register_provider(caps, b"\x01" * 32)
    client.stake(tokens(200))
    return client


@pytest.fixture
def gateway_settings(tmp_path: Path, anvil: AnvilProcess, deployments_dir: Path) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "chain_id": anvil.chain_id,
        "data_dir": tmp_path / "gateway",
        "deployments_dir": deployments_dir,
        "frontend_dist": tmp_path / "dist",
        "rpc_url": anvil.url,
        "indexer_enabled": True,
        "indexer_poll_interval_s": 0.05,
        "store_fsync": False,
        "api_keys": ["requester-tests-key"],
        "rate_limit_per_minute": 6000.0,
        "rate_limit_burst": 1000,
        "edge_rate_limit_per_minute": 60000.0,
        "edge_rate_limit_burst": 10000,
        "sse_poll_s": 0.05,
        "sse_heartbeat_s": 0.2,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def gateway_url(gateway_settings: Settings, dev_chain: Any) -> Iterator[str]:
    """A real gateway (uvicorn, 127.0.0.1, a free port) over the session's anvil, for this test only."""
    from api.main import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(gateway_settings),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
