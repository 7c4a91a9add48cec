"""Fixtures of the validator tests: the runtime image, a small verifiable job, the cast on the real chain,
and committees of in-process validator daemons re-executing in real Docker.

The chain fixtures (anvil, deployment, a snapshot per test) come from tests/conftest.py. The cast is
registered once per module and rolled back at its end, so other suites sharing the session's chain never
see these roles. Every container a validator or provider starts here carries a node label unique to the
test, and whatever is left of them is removed afterwards. No Docker engine is a test error, never a skip.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chain import DEV_ADDRESSES, Artifacts, Deployment, DevChain, MarketClient, Rpc, TxSender, dev_account
from jobs.bundle import pack_directory
from jobs.executors import ImageRef
from jobs.executors.docker import LABEL_NODE, DockerExecutor
from jobs.store import ContentStore, EmbeddedStore
from tests.provider_node.provider_jobs import register_provider
from tests.validator.relays import MemoryRelay
from tests.validator.validator_cast import (
    CHEATER,
    HONEST_PROVIDER,
    REQUESTER,
    VALIDATOR_STAKE,
    VALIDATORS,
    Committee,
    CommitteeFactory,
    VerifiableJob,
)
from validator.config import ValidatorConfig
from validator.daemon import ValidatorNode
from validator.relay import VoteRelay

# One segment of 20 steps per checkpoint, 10 segments: a few seconds of training, a second of replay.
INTERVAL = 20
SEGMENTS = 10


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    import docker

    from tests.jobs.executor_images import ensure_docker

    ensure_docker()  # raises (a test error, not a skip) when no engine can be had
    client = docker.from_env(timeout=300)
    yield client
    client.close()


@pytest.fixture(scope="session")
def runtime_image(docker_client: Any) -> ImageRef:
    from tests.jobs.executor_images import build_runtime_image

    return build_runtime_image(docker_client)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStore]:
    """The content store every party of a module shares (one process, one folder)."""
    with EmbeddedStore(tmp_path_factory.mktemp("store"), fsync=False) as shared:
        yield shared


@pytest.fixture(scope="module")
def digits_job(
    tmp_path_factory: pytest.TempPathFactory, store: EmbeddedStore, runtime_image: ImageRef
) -> VerifiableJob:
    from tests.sdk.sdk_helpers import example_copy  # imports torch: only for the tests that need the job

    folder = example_copy(
        "digits_mlp", tmp_path_factory.mktemp("digits") / "job", interval=INTERVAL, segments=SEGMENTS
    )
    manifest = folder / "job.toml"
    text, pinned = re.subn(
        r'(?m)^digest = "[^"]*"', f'digest = "{runtime_image.digest}"', manifest.read_text()
    )
    assert pinned == 1, "the example's job.toml has one [runtime] digest line"
    manifest.write_text(text)
    buffer = io.BytesIO()
    pack_directory(folder, buffer)
    return VerifiableJob(folder, store.add_bytes(buffer.getvalue()), runtime_image)


@pytest.fixture(scope="module")
def registered(rpc: Rpc, deployment: Deployment, artifacts: Artifacts, sender: TxSender) -> Iterator[None]:
    """Providers (dev 2 honest, dev 3 cheating) and validators (dev 7, 8, 9) registered and staked for one
    module, then rolled back."""
    chain = DevChain(rpc)
    snapshot = chain.snapshot()
    base = MarketClient(rpc, deployment, artifacts=artifacts, sender=sender)
    for index in (HONEST_PROVIDER, CHEATER):
        register_provider(base.with_account(dev_account(index)))
    for index in VALIDATORS:
        validator = base.with_account(dev_account(index))
        validator.stake(VALIDATOR_STAKE)
        validator.register_validator()
    yield
    chain.revert(snapshot)
    sender.reset_nonces()


@pytest.fixture
def requester(market: MarketClient, registered: None) -> MarketClient:
    return market.with_account(dev_account(REQUESTER))


@pytest.fixture
def provider(requester: MarketClient, store: EmbeddedStore, digits_job: VerifiableJob, tmp_path: Path) -> Any:
    """The honest provider's account (dev 2) as a scripted provider of the digits job: it trains on the
    host, packs and publishes as the provider node does, and submits (see cheaters.py)."""
    from tests.validator.cheaters import ScriptedProvider  # imports torch: only for the tests that need it

    return ScriptedProvider(
        requester.with_account(dev_account(HONEST_PROVIDER)), store, digits_job.folder, tmp_path / "provider"
    )


@pytest.fixture
def relay(
    rpc: Rpc, deployment: Deployment, artifacts: Artifacts, sender: TxSender, registered: None
) -> MemoryRelay:
    """The votes relay every daemon of a test shares (the gateway's reveal rule, in memory)."""
    return MemoryRelay(MarketClient(rpc, deployment, artifacts=artifacts, sender=sender))


@pytest.fixture
def node_label() -> Iterator[Callable[[str], str]]:
    """Unique container node labels for this test; their containers are removed afterwards."""
    made: list[str] = []

    def label(role: str) -> str:
        made.append(f"pytest-{role}-{uuid.uuid4().hex[:8]}")
        return made[-1]

    yield label
    if not made:
        return
    import docker

    client = docker.from_env()
    try:
        for value in made:
            for container in client.containers.list(all=True, filters={"label": f"{LABEL_NODE}={value}"}):
                container.remove(force=True)
    finally:
        client.close()


@pytest.fixture
def make_committee(
    tmp_path: Path,
    rpc: Rpc,
    deployment: Deployment,
    artifacts: Artifacts,
    sender: TxSender,
    store: EmbeddedStore,
    docker_client: Any,
    dev_chain: DevChain,
    requester: MarketClient,
    node_label: Callable[[str], str],
    relay: MemoryRelay,
) -> Iterator[CommitteeFactory]:
    """Build the three validators' daemons (own client, data dir, Docker executor); `kinds` maps a dev
    account index to another daemon class (the lazy one). Closed after the test."""
    nodes: list[ValidatorNode] = []
    executors: list[DockerExecutor] = []

    def make(kinds: dict[int, type[ValidatorNode]] | None = None) -> Committee:
        for index in VALIDATORS:
            client = MarketClient(
                rpc, deployment, artifacts=artifacts, sender=sender, account=dev_account(index)
            )
            executor = DockerExecutor(docker_client, node_id=node_label("validator"), poll_interval_s=0.1)
            executors.append(executor)
            config = ValidatorConfig(
                data_dir=tmp_path / f"validator-{index}", poll_interval_s=0.05, retry_s=0.0
            )
            kind = (kinds or {}).get(index, ValidatorNode)
            nodes.append(kind(client, store, executor, config, relay=relay))
        return Committee(nodes[-len(VALIDATORS) :], requester, dev_chain)

    yield make
    for node in nodes:
        node.close()
    for executor in executors:
        executor.close()


@pytest.fixture
def make_node(
    tmp_path: Path,
    rpc: Rpc,
    deployment: Deployment,
    artifacts: Artifacts,
    sender: TxSender,
    store: EmbeddedStore,
    docker_client: Any,
    node_label: Callable[[str], str],
    registered: None,
    relay: MemoryRelay,
) -> Iterator[Callable[..., ValidatorNode]]:
    """One validator daemon for a dev account `address`: `make(address, kind=..., client_kind=...,
    tx_sender=..., executor_kind=..., node_id=..., content_store=..., vote_relay=..., **config)` (the
    test's shared `relay` unless `vote_relay` is given). Its data dir is
    `validator-<index>` under the test's tmp_path whatever the call, so a second daemon for the same
    address is that validator restarted. Every daemon and executor is closed after the test."""
    nodes: list[ValidatorNode] = []
    executors: list[DockerExecutor] = []

    def make(
        address: str,
        *,
        kind: type[ValidatorNode] = ValidatorNode,
        client_kind: type[MarketClient] = MarketClient,
        tx_sender: TxSender | None = None,
        executor_kind: type[DockerExecutor] = DockerExecutor,
        node_id: str | None = None,
        content_store: ContentStore | None = None,
        vote_relay: VoteRelay | None = None,
        **config: Any,
    ) -> ValidatorNode:
        index = DEV_ADDRESSES.index(address)
        client = client_kind(
            rpc, deployment, artifacts=artifacts, sender=tx_sender or sender, account=dev_account(index)
        )
        executor = executor_kind(
            docker_client, node_id=node_id or node_label("validator"), poll_interval_s=0.1
        )
        executors.append(executor)
        settings: dict[str, Any] = {
            "data_dir": tmp_path / f"validator-{index}",
            "poll_interval_s": 0.05,
            "retry_s": 0.0,
            **config,
        }
        node = kind(
            client, content_store or store, executor, ValidatorConfig(**settings), relay=vote_relay or relay
        )
        nodes.append(node)
        return node

    yield make
    for node in nodes:
        node.close()
    for executor in executors:
        executor.close()
