"""A job that fails by its own fault, end to end on anvil with real Docker: the provider node submits a
failure report, the committee re-runs the job, sees it fail the same way and approves, so the provider is
paid the budget and keeps its collateral (the requester pays for its failing job). And the cheat: a provider
that reports a failure for a job that succeeds is rejected when the committee's re-runs succeed, and slashed.

The jobs run in the small test image (this machine's Python, no torch: tests/jobs/executor_images.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chain import DEV_ADDRESSES, JobStatus, MarketClient, Outcome, VerificationMode, dev_account
from crowdcompute.requester import job_summary, read_ballots
from jobs.executors import ExecutionState, Executor, ImageRef
from jobs.executors.docker import DockerExecutor
from jobs.executors.noop import NoopExecutor
from jobs.failure import FAILURE_SEGMENT, FailureKind, FailureOutcome
from jobs.store import EmbeddedStore
from provider_node.config import NodeConfig
from provider_node.daemon import ProviderNode
from provider_node.state import Phase as ProviderPhase
from tests.provider_node.provider_jobs import SUCCESS_SCRIPT, make_bundle
from tests.validator.validator_cast import (
    CHEATER,
    HONEST_PROVIDER,
    REQUESTER,
    VALIDATORS,
    CommitteeFactory,
    Ledger,
    job_spec,
)

pytestmark = pytest.mark.slow

WATCHED = [DEV_ADDRESSES[i] for i in (REQUESTER, HONEST_PROVIDER, CHEATER, *VALIDATORS)]
EXIT_3 = FailureOutcome(FailureKind.EXIT, 3)
REPLICATE = {"mode": VerificationMode.REPLICATE, "samples_per_validator": 0, "memory_mib": 256}

# Writes a checkpoint, then fails in its second segment, every time: the requester's code is at fault.
FAILING_SCRIPT = """
import hashlib, json, os, sys
out = os.environ["CROWDCOMPUTE_OUTPUT_DIR"]
os.makedirs(f"{out}/checkpoints", exist_ok=True)
data = b"checkpoint 0"
open(f"{out}/checkpoints/c0.bin", "wb").write(data)
with open(f"{out}/checkpoints/journal.jsonl", "a") as journal:
    journal.write(json.dumps({"index": 0, "digest": hashlib.sha256(data).hexdigest()}) + "\\n")
print("segment 1: the loss is NaN", flush=True)
sys.exit(3)
"""


@pytest.fixture(scope="module")
def test_image(docker_client: Any) -> ImageRef:
    from tests.jobs.executor_images import build_test_image

    return build_test_image(docker_client)


@pytest.fixture
def run_provider(
    requester: MarketClient, store: EmbeddedStore, docker_client: Any, node_label: Any, tmp_path: Path
) -> Callable[..., dict[str, Any]]:
    """A real provider node claims the open job, runs it (in Docker unless given another executor) and
    submits; returns its result record."""

    def run(job_id: int, index: int = HONEST_PROVIDER, executor: Executor | None = None) -> dict[str, Any]:
        docker = DockerExecutor(docker_client, node_id=node_label("provider"), poll_interval_s=0.1)
        node = ProviderNode(
            requester.with_account(dev_account(index)),
            store,
            executor or docker,
            NodeConfig(data_dir=tmp_path / f"provider-{index}", poll_interval_s=0.05),
        )
        try:
            assert node.step().claimed == [job_id]
            assert node.wait_idle(120)
            record = node.state.get(job_id)
            assert record is not None and record.phase is ProviderPhase.SUBMITTED, record
            assert record.result is not None
            return dict(record.result)
        finally:
            node.close()
            docker.close()

    return run


def test_a_job_that_always_fails_is_accepted_as_a_reproduced_failure_report(
    requester: MarketClient,
    store: EmbeddedStore,
    test_image: ImageRef,
    make_committee: CommitteeFactory,
    run_provider: Callable[..., dict[str, Any]],
    tmp_path: Path,
) -> None:
    cid = make_bundle(store, tmp_path / "job", FAILING_SCRIPT, digest=test_image.digest)
    before = Ledger.read(requester, WATCHED)
    job_id = requester.post_job(job_spec(cid, **REPLICATE)).job_id
    result = run_provider(job_id)
    assert result["failure"]["kind"] == "exit" and result["failure"]["exit_code"] == 3
    assert result["failure"]["segment"] == 0 and result["checkpoint_count"] == 1

    settled = make_committee().run_until_final(job_id)

    args = settled.finalized.args
    assert (Outcome(args["outcome"]), args["accepts"], args["rejects"]) == (Outcome.ACCEPTED, 3, 0)
    for address, vote in settled.votes().items():
        evidence = vote.args["evidence"]
        assert evidence["segment"] == FAILURE_SEGMENT
        assert evidence["committedDigest"] == evidence["recomputedDigest"] == EXIT_3.digest
        record = settled.records[address]
        assert record.segments == ["failure report (from checkpoint 0)"], record
        assert record.reason.startswith("the re-run failed the same way: the job exited with code 3")
    spec = requester.job(job_id).job.spec
    after = Ledger.read(requester, WATCHED)
    # Paid the budget (and the reward), collateral untouched: nothing but `balance` and `reward_owed` moved.
    assert before.delta(after, DEV_ADDRESSES[HONEST_PROVIDER]) == {
        "balance": spec.budget,
        "reward_owed": spec.reward,
    }
    assert not settled.slashed()
    assert requester.status_of(job_id) == JobStatus.CLOSED
    # What `crowdcompute job status` shows the requester.
    view = requester.job(job_id)
    summary = job_summary(view, read_ballots(requester, view))
    assert (summary["state"], summary["failureReport"]) == ("Accepted", {"reproduced": 3, "refuted": 0})


def test_a_provider_that_reports_a_failure_for_a_job_that_succeeds_is_rejected(
    requester: MarketClient,
    store: EmbeddedStore,
    test_image: ImageRef,
    make_committee: CommitteeFactory,
    run_provider: Callable[..., dict[str, Any]],
    tmp_path: Path,
) -> None:
    cid = make_bundle(store, tmp_path / "job", SUCCESS_SCRIPT, digest=test_image.digest)
    before = Ledger.read(requester, WATCHED)
    job_id = requester.post_job(job_spec(cid, **REPLICATE)).job_id
    # The cheater runs nothing and says the job exited with code 3.
    lying = NoopExecutor(state=ExecutionState.FAILED, exit_code=3, reason="exited with code 3")
    result = run_provider(job_id, CHEATER, lying)
    assert result["failure"]["kind"] == "exit"

    settled = make_committee().run_until_final(job_id)

    args = settled.finalized.args
    assert (Outcome(args["outcome"]), args["accepts"], args["rejects"]) == (Outcome.REJECTED, 0, 3)
    for address, vote in settled.votes().items():
        evidence = vote.args["evidence"]
        assert evidence["segment"] == FAILURE_SEGMENT and evidence["committedDigest"] == EXIT_3.digest
        assert evidence["recomputedDigest"] == bytes(32)
        assert "succeeded when re-run" in settled.records[address].reason
    spec = requester.job(job_id).job.spec
    after = Ledger.read(requester, WATCHED)
    assert settled.slashed() == {DEV_ADDRESSES[CHEATER]: spec.collateral}
    assert before.delta(after, DEV_ADDRESSES[CHEATER]) == {"stake": -spec.collateral}
