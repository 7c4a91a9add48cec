"""A provider killed mid-job (SIGKILL of `python -m provider_node run`) and restarted with the same data dir:
it re-attaches to its running container and submits; or, when the deadline passed meanwhile, submits
nothing, stops the container, and the job can be expired."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chain import DEV_PRIVATE_KEYS, AnvilProcess, DevChain, JobStatus, MarketClient, TxSender
from jobs.executors import ImageRef
from jobs.executors.docker import DockerExecutor
from jobs.store import EmbeddedStore
from provider_node.daemon import ProviderNode
from provider_node.state import Phase, StateStore
from tests.provider_node.provider_jobs import make_bundle, post_job

REPO = Path(__file__).resolve().parents[2]
# Holds in the container until the test drops `release` into its output folder, then trains "instantly".
GATED_SCRIPT = """
import hashlib, json, os, time
out = os.environ["CROWDCOMPUTE_OUTPUT_DIR"]
print("waiting for release", flush=True)
limit = time.time() + 50
while not os.path.exists(f"{out}/release"):
    if time.time() > limit:
        raise SystemExit(3)
    time.sleep(0.05)
os.remove(f"{out}/release")
data = b"checkpoint 0"
os.makedirs(f"{out}/checkpoints")
open(f"{out}/checkpoints/c0.bin", "wb").write(data)
json.dump([hashlib.sha256(data).hexdigest()], open(f"{out}/checkpoints/manifest.json", "w"))
print("done", flush=True)
"""


@dataclass
class KilledNode:
    job_id: int
    data_dir: Path
    label: str
    execution_id: str


@pytest.fixture
def killed_node(
    anvil: AnvilProcess,
    deployments_dir: Path,
    provider: MarketClient,
    requester: MarketClient,
    store: EmbeddedStore,
    test_image: ImageRef,
    docker_client: Any,
    node_label: Callable[[], str],
    sender: TxSender,
    tmp_path: Path,
) -> KilledNode:
    """A job claimed and started by a node process that is then SIGKILLed while its container runs."""
    job_id = post_job(requester, make_bundle(store, tmp_path / "job", GATED_SCRIPT, digest=test_image.digest))
    data_dir, label = tmp_path / "node", node_label()
    command = [sys.executable, "-m", "provider_node", "run", "--data-dir", str(data_dir), "--node-id", label]
    command += ["--rpc-url", anvil.url, "--deployments-dir", str(deployments_dir)]
    command += [
        "--devnet-dir",
        str(tmp_path / "no-devnet"),
        "--store-dir",
        str(store.root),
        "--poll-interval",
        "0.1",
    ]
    env = {**os.environ, "CROWDCOMPUTE_PRIVATE_KEY": DEV_PRIVATE_KEYS[2]}
    with (tmp_path / "node.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        running = _wait_for(lambda: _running(docker_client, label), 60)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    assert running, (tmp_path / "node.log").read_text()[-3000:]
    sender.reset_nonces()  # the killed process sent from the provider's account
    state = StateStore(data_dir / "state.db")
    record = state.get(job_id)
    state.close()
    # Killed while its container runs: `running`, or still `claimed` if the kill came between the container
    # starting and the phase being saved (the execution id is saved before the start, for this case).
    assert record is not None and record.phase in (Phase.CLAIMED, Phase.RUNNING) and record.execution_id
    assert provider.status_of(job_id) == JobStatus.CLAIMED
    return KilledNode(job_id, data_dir, label, record.execution_id)


def _running(docker_client: Any, label: str) -> bool:
    found = docker_client.containers.list(
        filters={"label": f"crowdcompute.node={label}", "status": "running"}
    )
    return bool(found)


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def restarted(
    killed: KilledNode, provider: MarketClient, store: EmbeddedStore, docker_client: Any
) -> ProviderNode:
    executor = DockerExecutor(docker_client, node_id=killed.label, poll_interval_s=0.1)
    from provider_node.config import NodeConfig

    return ProviderNode(provider, store, executor, NodeConfig(data_dir=killed.data_dir, poll_interval_s=0.05))


@pytest.mark.parametrize("saved_phase", ["as saved", "claimed"])
def test_killed_node_reattaches_to_its_container_and_submits(
    killed_node: KilledNode,
    provider: MarketClient,
    store: EmbeddedStore,
    docker_client: Any,
    saved_phase: str,
) -> None:
    if saved_phase == "claimed":  # as if killed after the container started, before `running` was saved
        state = StateStore(killed_node.data_dir / "state.db")
        record = state.get(killed_node.job_id)
        assert record is not None
        state.update(record, phase=Phase.CLAIMED)
        state.close()
    node = restarted(killed_node, provider, store, docker_client)
    try:
        node.step()
        output = killed_node.data_dir / "runs" / killed_node.execution_id / "output"
        (output / "release").touch()
        assert node.wait_idle(60)
        record = node.state.get(killed_node.job_id)
        assert record is not None and record.phase is Phase.SUBMITTED, record
        assert record.execution_id == killed_node.execution_id and record.tries == 1, (
            "re-attached, not re-run"
        )
        assert record.result["checkpoint_count"] == 1  # type: ignore[index]
        assert provider.status_of(killed_node.job_id) == JobStatus.SUBMITTED
        assert not docker_client.containers.list(
            all=True, filters={"label": f"crowdcompute.node={killed_node.label}"}
        )
    finally:
        node.close()
        node.executor.close()  # type: ignore[attr-defined]


def test_killed_node_past_its_deadline_submits_nothing_and_the_job_expires(
    killed_node: KilledNode,
    provider: MarketClient,
    requester: MarketClient,
    store: EmbeddedStore,
    docker_client: Any,
    dev_chain: DevChain,
) -> None:
    dev_chain.increase_time(3700)  # past runTimeout (3600 s) while the node was down
    node = restarted(killed_node, provider, store, docker_client)
    try:
        node.step()
        assert node.wait_idle(30)
        record = node.state.get(killed_node.job_id)
        assert record is not None and record.phase is Phase.EXPIRED, record
        assert provider.status_of(killed_node.job_id) == JobStatus.CLAIMED, "nothing was submitted"
        assert not docker_client.containers.list(
            all=True, filters={"label": f"crowdcompute.node={killed_node.label}"}
        )
    finally:
        node.close()
        node.executor.close()  # type: ignore[attr-defined]
    expired = requester.expire_job(killed_node.job_id)
    assert expired.provider == provider.me and expired.slashed > 0
