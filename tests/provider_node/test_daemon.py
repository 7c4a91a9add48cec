"""The daemon's logic on the real chain with executors that run nothing: claim, submit, skip, restart."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import shutil
import tarfile
import threading
import time
from collections.abc import Callable

import pytest

from chain import DevChain, JobStatus, MarketClient, RpcUnreachable, tokens
from jobs.cid import Cid
from jobs.commitments import merkle_root
from jobs.executors import ExecutionState, ImageRef
from jobs.executors.noop import NoopExecutor
from jobs.failure import FAILURE_RECORD, SDK_JOURNAL
from jobs.store import EmbeddedStore
from provider_node.daemon import ProviderNode
from provider_node.state import Phase
from tests.provider_node.fake_executors import GatedExecutor, NestedOutputExecutor, SymlinkOutputExecutor
from tests.provider_node.provider_jobs import make_bundle, post_job

NodeFactory = Callable[..., ProviderNode]

CHECKPOINTS = [f"checkpoint {i}".encode() for i in range(3)]
OUTPUT = {
    "model.bin": b"final model",
    **{f"checkpoints/c{i}.bin": data for i, data in enumerate(CHECKPOINTS)},
    "checkpoints/manifest.json": json.dumps(
        {
            "checkpoints": [
                {"index": i, "digest": hashlib.sha256(d).hexdigest()} for i, d in enumerate(CHECKPOINTS)
            ]
        }
    ).encode(),
}


def submitted_args(market: MarketClient, job_id: int) -> dict[str, object]:
    view = market.job(job_id)
    assert view.status == JobStatus.SUBMITTED
    return next(e.args for e in view.events if e.name == "ResultSubmitted")


def test_node_claims_runs_pins_and_submits_the_commitment(
    make_node: NodeFactory, provider: MarketClient, requester: MarketClient, store: EmbeddedStore, tmp_path
) -> None:
    job_id = post_job(requester, make_bundle(store, tmp_path / "job"))
    executor = NestedOutputExecutor(OUTPUT)
    node = make_node(provider, executor)
    report = node.step()
    assert report.claimed == [job_id]
    assert node.wait_idle(30)

    record = node.state.get(job_id)
    assert record is not None and record.phase is Phase.SUBMITTED, record
    args = submitted_args(requester, job_id)
    cid = Cid.from_chain(args["resultDigest"], args["resultCodec"])  # type: ignore[arg-type]
    assert str(cid) == record.result["cid"]  # type: ignore[index]
    assert cid in store.pins()
    assert args["checkpointRoot"] == merkle_root([hashlib.sha256(d).digest() for d in CHECKPOINTS])
    assert args["checkpointCount"] == 3
    with tarfile.open(fileobj=io.BytesIO(store.read_bytes(cid))) as tar:
        assert tar.extractfile("model.bin").read() == b"final model"  # type: ignore[union-attr]
        assert sorted(tar.getnames()) == ["checkpoints", *sorted(n for n in OUTPUT if "/" in n), "model.bin"]
    request = executor.requests[0]
    assert request.image.name == "crowdcompute/test-python:latest"
    assert (request.cpus, request.memory_mib, request.output_limit_bytes) == (0.5, 128, 8 * 1024 * 1024)
    assert request.timeout_s == 60 and request.argv == ("python3", "/input/job.py")
    assert record.result["energy"]["method"] and record.result["kwh"] is not None  # type: ignore[index]


def test_the_run_folder_is_removed_after_the_submission_not_before(
    make_node: NodeFactory,
    provider: MarketClient,
    requester: MarketClient,
    store: EmbeddedStore,
    tmp_path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Unlinking a run's checkpoints is off the path from the job's end to its submission: with that removal
    held, the result is still submitted, and the folder goes once the removal may go on."""
    job_id = post_job(requester, make_bundle(store, tmp_path / "job"))
    node = make_node(provider, NestedOutputExecutor(OUTPUT))
    held, removing, remove = threading.Event(), threading.Event(), shutil.rmtree

    def held_rmtree(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if path.parent == node.config.runs_dir:
            removing.set()
            assert held.wait(60), "never released"
        return remove(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", held_rmtree)
    node.step()
    assert node.wait_idle(30)
    record = node.state.get(job_id)
    assert record is not None and record.phase is Phase.SUBMITTED, record
    assert removing.is_set(), "the removal began"
    run_dir = node.config.runs_dir / str(record.execution_id)
    assert run_dir.is_dir(), "submitted while the folder's removal was held"
    held.set()
    for _ in range(600):
        if not run_dir.exists():
            break
        time.sleep(0.05)
    assert not run_dir.exists(), "the folder went once its removal was let go on"


def test_node_logs_why_it_skips_each_job(
    make_node: NodeFactory,
    provider: MarketClient,
    requester: MarketClient,
    store: EmbeddedStore,
    tmp_path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ok = make_bundle(store, tmp_path / "ok")
    absent = make_bundle(store, tmp_path / "absent", image="crowdcompute/absent:1")
    jobs = {
        post_job(requester, ok, gpu_memory_mib=4096): "too little GPU memory: needs 4096 MiB",
        post_job(requester, ok, budget=tokens(1), run_timeout=7200): "price below this node's floor",
        post_job(requester, ok, collateral=tokens(300)): "not enough free stake for the collateral",
        post_job(requester, absent): "runtime image crowdcompute/absent:1 is not present locally",
    }
    executor = GatedExecutor()

    def image_check(image: ImageRef) -> str | None:
        return f"runtime image {image.name} is not present locally" if "absent" in image.name else None

    node = make_node(provider, executor, image_check=image_check)
    with caplog.at_level(logging.INFO, logger="provider_node"):
        report = node.step()
        assert not report.claimed and set(report.skipped) == set(jobs)
        held = post_job(requester, ok)
        assert node.step().claimed == [held]
        busy = post_job(requester, ok)
        node.step()
        node.step()  # a reason is logged once, not at every round
    for job_id, words in {**jobs, busy: "at capacity: 1 of 1 job slots busy"}.items():
        lines = [
            r.getMessage() for r in caplog.records if r.getMessage().startswith(f"job {job_id}: skipped: ")
        ]
        assert len(lines) == 1 and words in lines[0], (job_id, lines)
    executor.release()
    assert node.wait_idle(30)
    assert node.step().claimed == [busy]
    assert node.wait_idle(30)


def test_a_job_that_fails_by_its_own_fault_is_submitted_as_a_failure_report(
    make_node: NodeFactory,
    provider: MarketClient,
    requester: MarketClient,
    store: EmbeddedStore,
    tmp_path,
    caplog,
) -> None:
    job_id = post_job(requester, make_bundle(store, tmp_path / "job"))
    # Two checkpoints in the SDK's journal, then the kernel's OOM killer: no manifest, no model.
    journal = "".join(
        json.dumps({"index": i, "digest": hashlib.sha256(d).hexdigest()}) + "\n"
        for i, d in enumerate(CHECKPOINTS[:2])
    )
    files = {"checkpoints/c0.bin": CHECKPOINTS[0], "checkpoints/c1.bin": CHECKPOINTS[1]}
    executor = NestedOutputExecutor(
        {**files, SDK_JOURNAL: journal.encode(), "partial.bin": b"half a model"},
        state=ExecutionState.OOM_KILLED,
        exit_code=137,
        reason="killed by the OOM killer",
    )
    node = make_node(provider, executor)
    with caplog.at_level(logging.INFO, logger="provider_node"):
        node.step()
        assert node.wait_idle(30)
    record = node.state.get(job_id)
    assert record is not None and record.phase is Phase.SUBMITTED, record
    assert record.result is not None and record.result["failure"] is not None
    assert record.result["failure"]["kind"] == "oom"
    args = submitted_args(requester, job_id)
    digests = [hashlib.sha256(d).digest() for d in CHECKPOINTS[:2]]
    assert (args["checkpointRoot"], args["checkpointCount"]) == (merkle_root(digests), 2)
    cid = Cid.from_chain(args["resultDigest"], args["resultCodec"])  # type: ignore[arg-type]
    with tarfile.open(fileobj=io.BytesIO(store.read_bytes(cid))) as tar:
        names = sorted(tar.getnames())
        document = json.load(tar.extractfile(FAILURE_RECORD))  # type: ignore[arg-type]
    assert names == [
        "checkpoints",
        *sorted(f"checkpoints/{n}" for n in ("c0.bin", "c1.bin", "manifest.json")),
        FAILURE_RECORD,
    ]
    assert document["kind"] == "oom" and document["segment"] == 1
    assert document["checkpoints"] == [d.hex() for d in digests]
    assert any("failure report" in r.getMessage() and "submitted" in r.getMessage() for r in caplog.records)


def test_a_run_the_deadline_cut_short_submits_nothing(
    make_node: NodeFactory,
    provider: MarketClient,
    requester: MarketClient,
    store: EmbeddedStore,
    tmp_path,
    caplog,
) -> None:
    # Timed out before the job's own 60 s limit: the deadline cut it, which is not the job's failure.
    job_id = post_job(requester, make_bundle(store, tmp_path / "job"))
    node = make_node(provider, NoopExecutor(state=ExecutionState.TIMED_OUT, reason="timed out after 5 s"))
    with caplog.at_level(logging.INFO, logger="provider_node"):
        node.step()
        assert node.wait_idle(30)
    record = node.state.get(job_id)
    assert record is not None and record.phase is Phase.FAILED
    assert requester.status_of(job_id) == JobStatus.CLAIMED
    assert any("Submitting nothing" in r.getMessage() and "slashed" in r.getMessage() for r in caplog.records)


def test_a_successful_job_cannot_pass_its_result_off_as_a_failure_report(
    make_node: NodeFactory, provider: MarketClient, requester: MarketClient, store: EmbeddedStore, tmp_path
) -> None:
    job_id = post_job(requester, make_bundle(store, tmp_path / "job"))
    forged = {"format": 1, "kind": "exit", "exit_code": 1, "segment": None, "checkpoints": [], "reason": ""}
    node = make_node(provider, NestedOutputExecutor({**OUTPUT, FAILURE_RECORD: json.dumps(forged).encode()}))
    node.step()
    assert node.wait_idle(30)
    args = submitted_args(requester, job_id)
    cid = Cid.from_chain(args["resultDigest"], args["resultCodec"])  # type: ignore[arg-type]
    with tarfile.open(fileobj=io.BytesIO(store.read_bytes(cid))) as tar:
        assert FAILURE_RECORD not in tar.getnames() and "model.bin" in tar.getnames()
    assert node.state.get(job_id).result["failure"] is None  # type: ignore[union-attr,index]


def test_an_output_path_through_a_symlink_is_never_packed(
    make_node: NodeFactory, provider: MarketClient, requester: MarketClient, store: EmbeddedStore, tmp_path
) -> None:
    secret = tmp_path / "host-secrets"
    secret.mkdir()
    (secret / "key").write_text("do not publish")
    job_id = post_job(requester, make_bundle(store, tmp_path / "job", outputs_path="result"))
    node = make_node(provider, SymlinkOutputExecutor("result", secret))
    node.step()
    assert node.wait_idle(30)
    record = node.state.get(job_id)
    assert record is not None and record.phase is Phase.FAILED
    assert "passes through a symlink" in record.note
    assert requester.status_of(job_id) == JobStatus.CLAIMED


def test_a_job_that_failed_here_is_not_claimed_again_when_it_reopens(
    make_node: NodeFactory,
    provider: MarketClient,
    requester: MarketClient,
    store: EmbeddedStore,
    dev_chain: DevChain,
    tmp_path,
) -> None:
    job_id = post_job(requester, make_bundle(store, tmp_path / "job"), reopen_on_failure=True)
    node = make_node(provider, NoopExecutor(state=ExecutionState.TIMED_OUT, reason="timed out"))
    node.step()
    assert node.wait_idle(30)
    dev_chain.increase_time(3601)
    assert requester.expire_job(job_id).reopened
    report = node.step()
    assert not report.claimed
    assert "it failed on this node before: the job failed by its own fault" in report.skipped[job_id]


def test_a_chain_lost_while_a_job_runs_is_waited_out_and_the_result_submitted(
    make_node: NodeFactory, provider: MarketClient, requester: MarketClient, store: EmbeddedStore, tmp_path
) -> None:
    # Seen in bench/chaos.py: an RPC cut while the worker read the chain's time marked the job failed.
    job_id = post_job(requester, make_bundle(store, tmp_path / "job"))
    node = make_node(provider, NestedOutputExecutor(OUTPUT))
    reachable = node.ctx.chain_time
    cuts = {"left": 3}

    def cut_for_the_worker() -> int:  # the job's worker thread reads the chain's time through it
        if threading.current_thread() is not threading.main_thread() and cuts["left"] > 0:
            cuts["left"] -= 1
            raise RpcUnreachable("http://127.0.0.1:9", "ConnectionError")
        return reachable()

    node.ctx.chain_time = cut_for_the_worker
    assert node.step().claimed == [job_id]
    assert node.wait_idle(30)
    record = node.state.get(job_id)
    assert cuts["left"] == 0, "the worker never met the cut"
    assert record is not None and record.phase is Phase.SUBMITTED, record
    assert requester.status_of(job_id) == JobStatus.SUBMITTED


def test_a_result_finished_before_a_stop_is_submitted_after_the_restart(
    make_node: NodeFactory, provider: MarketClient, requester: MarketClient, store: EmbeddedStore, tmp_path
) -> None:
    job_id = post_job(requester, make_bundle(store, tmp_path / "job"))
    down = make_node(provider.with_account(provider.signer), name="node")

    def unreachable(*args: object, **kwargs: object) -> None:
        raise RpcUnreachable("http://127.0.0.1:9", "test")

    down.market.submit_result = unreachable  # type: ignore[method-assign]
    down.step()
    for _ in range(100):
        record = down.state.get(job_id)
        if record is not None and record.phase is Phase.FINISHED:
            break
        down.wait_idle(0.05)
    down.close()
    assert requester.status_of(job_id) == JobStatus.CLAIMED

    again = make_node(provider, name="node")
    again.step()
    assert again.wait_idle(30)
    record = again.state.get(job_id)
    assert record is not None and record.phase is Phase.SUBMITTED
    args = submitted_args(requester, job_id)
    assert args["resultDigest"].hex() == record.result["digest"]  # type: ignore[union-attr,index]


def test_a_paused_market_is_not_claimed_from_and_the_node_says_so_once(
    make_node: NodeFactory,
    market: MarketClient,
    provider: MarketClient,
    requester: MarketClient,
    store: EmbeddedStore,
    tmp_path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    job_id = post_job(requester, make_bundle(store, tmp_path / "job"))
    market.pause()  # the deployer is the dev chain's guardian
    node = make_node(provider, NestedOutputExecutor(OUTPUT), account_refresh_s=0.0)
    with caplog.at_level(logging.INFO, logger="provider_node"):
        assert node.step().claimed == []
        assert node.step().claimed == []
    paused = [r for r in caplog.records if "the market is paused by its guardian" in r.getMessage()]
    assert len(paused) == 1 and paused[0].levelno == logging.WARNING
    assert requester.status_of(job_id) == JobStatus.OPEN

    market.unpause()
    assert node.step().claimed == [job_id]
    assert node.wait_idle(30)


def test_node_finalizes_its_own_job_once_nobody_did_after_the_window(
    make_node: NodeFactory,
    provider: MarketClient,
    requester: MarketClient,
    store: EmbeddedStore,
    dev_chain: DevChain,
    tmp_path,
) -> None:
    """The provider wants to be paid: a submitted job still not finalized a few blocks after its window
    is finalized by the node itself (mode none needs no votes; a committee's come from the gateway)."""
    job_id = post_job(requester, make_bundle(store, tmp_path / "job"))
    node = make_node(provider, NestedOutputExecutor(OUTPUT), finalize_after_blocks=2)
    assert node.step().claimed == [job_id]
    assert node.wait_idle(30)
    submit_block = requester.job(job_id).job.state.submit_block
    window_end = submit_block + 1 + requester.job(job_id).job.spec.verify_blocks

    dev_chain.mine(window_end + 1 - requester.rpc.block_number())  # the window is over, the grace is not
    node.step()
    assert requester.status_of(job_id) == JobStatus.SUBMITTED, "the validators get the first chance"

    dev_chain.mine(2)
    node.step()
    view = requester.job(job_id)
    assert view.status == JobStatus.CLOSED and view.outcome is not None and view.outcome.name == "ACCEPTED"
    assert provider.account_of().balance == requester.job(job_id).job.spec.budget
    record = node.state.get(job_id)
    assert record is not None and record.phase is Phase.SUBMITTED
    assert record.note == "settled: Accepted (finalized by this node)", record.note
    node.step()  # a settled record is left alone
    assert node.state.get(job_id) == record
