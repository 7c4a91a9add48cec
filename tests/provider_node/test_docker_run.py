"""The run path in real Docker: claim, run the pinned test image, pin the output, submit the commitment;
image skip reasons from the engine; two providers racing for one job."""

from __future__ import annotations

import hashlib
import io
import logging
import tarfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chain import JobStatus, MarketClient
from jobs.cid import Cid
from jobs.commitments import merkle_root
from jobs.executors import ExecutionRequest, ImageRef
from jobs.executors.base import LogCallback
from jobs.executors.docker import DockerExecutor
from jobs.store import EmbeddedStore
from node_base.encryption import ensure_published
from provider_node.daemon import ProviderNode
from provider_node.state import Phase
from tests.provider_node.provider_jobs import make_bundle, post_job

NodeFactory = Callable[..., ProviderNode]


class CountingDocker(DockerExecutor):
    """The Docker executor, counting the executions it started."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.started: list[str] = []

    def start(self, request: ExecutionRequest, *, on_log: LogCallback | None = None) -> None:
        super().start(request, on_log=on_log)
        self.started.append(request.execution_id)


@pytest.fixture
def docker_executor(
    docker_client: Any, node_label: Callable[[], str]
) -> Iterator[Callable[[], CountingDocker]]:
    made: list[CountingDocker] = []

    def make() -> CountingDocker:
        made.append(CountingDocker(docker_client, node_id=node_label(), poll_interval_s=0.1))
        return made[-1]

    yield make
    for executor in made:
        executor.close()


def containers_of(docker_client: Any, executor: DockerExecutor) -> list[Any]:
    label = f"crowdcompute.node={executor._node_id}"
    return list(docker_client.containers.list(all=True, filters={"label": label}))


def test_job_runs_in_docker_and_its_pinned_output_is_submitted(
    make_node: NodeFactory,
    provider: MarketClient,
    requester: MarketClient,
    store: EmbeddedStore,
    test_image: ImageRef,
    docker_executor: Callable[[], CountingDocker],
    docker_client: Any,
    tmp_path: Path,
) -> None:
    job_id = post_job(requester, make_bundle(store, tmp_path / "job", digest=test_image.digest))
    executor = docker_executor()
    node = make_node(provider, executor)
    assert node.step().claimed == [job_id]
    assert node.wait_idle(60)

    record = node.state.get(job_id)
    assert record is not None and record.phase is Phase.SUBMITTED, record
    assert executor.started == [record.execution_id]
    view = requester.job(job_id)
    args = next(e.args for e in view.events if e.name == "ResultSubmitted")
    cid = Cid.from_chain(args["resultDigest"], args["resultCodec"])
    assert str(cid) == record.result["cid"] and cid in store.pins()  # type: ignore[index]
    digests = [hashlib.sha256(f"checkpoint {i}".encode()).digest() for i in range(3)]
    assert (args["checkpointRoot"], args["checkpointCount"]) == (merkle_root(digests), 3)
    with tarfile.open(fileobj=io.BytesIO(store.read_bytes(cid))) as tar:
        assert tar.extractfile("model.bin").read() == b"final model"  # type: ignore[union-attr]
        assert "checkpoints/manifest.json" in tar.getnames()
    execution = record.result["execution"]  # type: ignore[index]
    assert execution["state"] == "succeeded" and execution["exit_code"] == 0
    assert record.claimed_at is not None and record.submitted_at is not None
    assert not containers_of(docker_client, executor), "finished containers are removed"


def test_images_the_engine_lacks_are_skipped_with_the_reason(
    make_node: NodeFactory,
    provider: MarketClient,
    requester: MarketClient,
    store: EmbeddedStore,
    test_image: ImageRef,
    docker_executor: Callable[[], CountingDocker],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    absent = post_job(requester, make_bundle(store, tmp_path / "a", image="crowdcompute/absent-image:1"))
    other = post_job(requester, make_bundle(store, tmp_path / "b", digest="sha256:" + "cd" * 32))
    executor = docker_executor()
    with caplog.at_level(logging.INFO, logger="provider_node"):
        report = make_node(provider, executor).step()
    assert not report.claimed and not executor.started
    absent_reason = report.skipped[absent]
    assert "runtime image crowdcompute/absent-image:1 pinned to sha256:" in absent_reason
    assert "is not on this node" in absent_reason and "runtime/image.lock" in absent_reason
    assert (
        f"its digest differs: pinned sha256:{'cd' * 32}, local {test_image.digest}" in report.skipped[other]
    )
    logged = " | ".join(r.getMessage() for r in caplog.records)
    assert (
        f"job {absent}: skipped: runtime image" in logged and f"job {other}: skipped: runtime image" in logged
    )


def test_two_providers_race_for_one_job_exactly_one_runs_it(
    make_node: NodeFactory,
    provider: MarketClient,
    provider_b: MarketClient,
    requester: MarketClient,
    store: EmbeddedStore,
    test_image: ImageRef,
    docker_executor: Callable[[], CountingDocker],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    job_id = post_job(requester, make_bundle(store, tmp_path / "job", digest=test_image.digest))
    nodes = [
        make_node(provider, docker_executor(), name="a"),
        make_node(provider_b, docker_executor(), name="b"),
    ]
    both_decided = threading.Barrier(2, timeout=20)
    for node in nodes:
        claim = node.market.claim_job

        def racing_claim(job: int, claim: Callable[[int], Any] = claim) -> Any:
            both_decided.wait()  # both nodes chose the job before either claim is sent
            return claim(job)

        node.market.claim_job = racing_claim  # type: ignore[method-assign]
    for node in nodes:  # what each node publishes at its first step, sent before the count starts
        ensure_published(node.market, node.sealing.keyring)
    nonces = {node.me: requester.rpc.nonce(node.me, "latest") for node in nodes}
    reports: dict[str, Any] = {}
    with caplog.at_level(logging.INFO, logger="provider_node"):
        threads = [threading.Thread(target=lambda n=n: reports.update({n.me: n.step()})) for n in nodes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert all(node.wait_idle(60) for node in nodes)

    winners = [node for node in nodes if reports[node.me].claimed == [job_id]]
    losers = [node for node in nodes if reports[node.me].lost == [job_id]]
    assert len(winners) == 1 and len(losers) == 1
    winner, loser = winners[0], losers[0]
    assert len(winner.executor.started) == 1 and not loser.executor.started  # type: ignore[attr-defined]
    assert requester.job(job_id).job.state.provider == winner.me
    assert requester.status_of(job_id) == JobStatus.SUBMITTED
    lost = [r.getMessage() for r in caplog.records if "lost the race" in r.getMessage()]
    assert len(lost) == 1 and f"job {job_id} is Claimed, not Open" in lost[0]
    assert requester.rpc.nonce(loser.me, "latest") - nonces[loser.me] <= 1, "at most one reverted transaction"
    assert loser.state.get(job_id).phase is Phase.LOST  # type: ignore[union-attr]
