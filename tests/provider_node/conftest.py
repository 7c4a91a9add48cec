"""Fixtures of the provider tests: a shared content store, nodes built on the session's anvil, Docker.

The chain fixtures (anvil, deployment, snapshot per test) come from tests/conftest.py. Docker fixtures are
lazy: only the run-path tests start or use the engine, and every container they make carries a node label
that is removed at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chain import Deployment, MarketClient, dev_account, save_deployment
from jobs.executors import Executor, ImageRef
from jobs.executors.noop import NoopExecutor
from jobs.store import EmbeddedStore
from provider_node.config import NodeConfig
from provider_node.daemon import ProviderNode
from provider_node.matching import ImageCheck
from tests.provider_node.provider_jobs import register_provider

NodeFactory = Callable[..., ProviderNode]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    with EmbeddedStore(tmp_path / "store", fsync=False) as shared:
        yield shared


@pytest.fixture
def deployments_dir(tmp_path: Path, deployment: Deployment) -> Path:
    """The session's deployment as a record on disk, for the CLI and subprocess nodes."""
    folder = tmp_path / "deployments"
    save_deployment(deployment, folder)
    return folder


@pytest.fixture
def requester(market: MarketClient) -> MarketClient:
    return market.with_account(dev_account(1))


@pytest.fixture
def provider(market: MarketClient) -> MarketClient:
    """Dev account 2, registered (2 CPU cores, 2 GiB, 1 CROWD/h) with 200 CROWD staked."""
    return register_provider(market.with_account(dev_account(2)))


@pytest.fixture
def provider_b(market: MarketClient) -> MarketClient:
    return register_provider(market.with_account(dev_account(3)))


@pytest.fixture
def make_node(tmp_path: Path, store: EmbeddedStore) -> Iterator[NodeFactory]:
    """Build nodes with their own data dirs; closed after the test."""
    nodes: list[ProviderNode] = []

    def make(
        client: MarketClient,
        executor: Executor | None = None,
        *,
        name: str = "node",
        image_check: ImageCheck | None = None,
        **config: Any,
    ) -> ProviderNode:
        settings = NodeConfig(data_dir=tmp_path / name, poll_interval_s=0.05, **config)
        node = ProviderNode(client, store, executor or NoopExecutor(), settings, image_check=image_check)
        nodes.append(node)
        return node

    yield make
    for node in nodes:
        node.close()


# -- Docker ----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    import docker

    from tests.jobs.executor_images import ensure_docker

    ensure_docker()  # raises (a test error, not a skip) when no engine can be had
    client = docker.from_env(timeout=300)
    yield client
    client.close()


@pytest.fixture(scope="session")
def test_image(docker_client: Any) -> ImageRef:
    from tests.jobs.executor_images import build_test_image

    return build_test_image(docker_client)


@pytest.fixture
def node_label() -> Iterator[Callable[[], str]]:
    """Unique container node labels for this test; their containers are removed afterwards."""
    made: list[str] = []

    def label() -> str:
        made.append(f"pytest-provider-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        return made[-1]

    yield label
    if not made:
        return
    import docker

    client = docker.from_env()
    try:
        for value in made:
            for container in client.containers.list(
                all=True, filters={"label": f"crowdcompute.node={value}"}
            ):
                container.remove(force=True)
    finally:
        client.close()
