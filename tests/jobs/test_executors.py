"""The executor interface without an engine: request validation, and the local and no-op executors."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from jobs.executors import (
    ExecutionExists,
    ExecutionId,
    ExecutionState,
    Executor,
    InvalidExecutionRequest,
    LocalExecutorDisabled,
    request_for_manifest,
)
from jobs.executors.base import MIB
from jobs.executors.docker import DockerExecutor
from jobs.executors.local import ALLOW_ENV, LocalExecutor
from jobs.executors.noop import NoopExecutor
from jobs.manifest import load_manifest
from tests.jobs.execution_requests import STAND_IN_IMAGE, RequestFactory, request_factory, run

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def make_request(tmp_path: Path) -> RequestFactory:
    return request_factory(tmp_path, STAND_IN_IMAGE)


def test_bad_requests_are_refused(make_request: RequestFactory, tmp_path: Path) -> None:
    with pytest.raises(InvalidExecutionRequest, match="execution id"):
        make_request("", execution_id=ExecutionId("../escape"))
    with pytest.raises(InvalidExecutionRequest, match="overlap"):
        make_request("", input_dir=tmp_path, output_dir=tmp_path / "out")
    with pytest.raises(InvalidExecutionRequest, match="reserved prefix"):
        make_request("", labels={"crowdcompute.job": "forged"})
    with pytest.raises(InvalidExecutionRequest, match="memory_mib"):
        make_request("", memory_mib=0)


def test_local_executor_refuses_unless_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    with pytest.raises(LocalExecutorDisabled, match=ALLOW_ENV):
        LocalExecutor()
    monkeypatch.setenv(ALLOW_ENV, "yes")  # only "1" counts
    with pytest.raises(LocalExecutorDisabled):
        LocalExecutor()


def test_local_executor_runs_when_enabled_and_says_it_is_no_sandbox(
    monkeypatch: pytest.MonkeyPatch, make_request: RequestFactory, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(ALLOW_ENV, "1")
    with caplog.at_level(logging.WARNING, logger="jobs.executors.local"):
        local = LocalExecutor(poll_interval_s=0.05)
    assert "NOT a sandbox" in caplog.text
    request = make_request(
        """
        import os, time
        end = time.process_time() + 0.3
        while time.process_time() < end:
            pass
        open(os.path.join(os.environ["CROWDCOMPUTE_OUTPUT_DIR"], "out.txt"), "w").write("ok")
        print("local done")
        """,
        argv=("python", "job.py"),
    )
    result = run(local, request)
    assert result.ok, result.reason
    assert list(local.logs(request.execution_id)) == ["local done"]
    assert result.cpu_seconds is not None and result.cpu_seconds >= 0.25
    assert (request.output_dir / "out.txt").read_text() == "ok"

    slow = make_request("import time; time.sleep(60)", argv=("python", "job.py"), timeout_s=0.5)
    assert run(local, slow).state is ExecutionState.TIMED_OUT
    failing = make_request("raise SystemExit('bad input')", argv=("python", "job.py"))
    failed = run(local, failing)
    assert failed.state is ExecutionState.FAILED and failed.reason == "exited with code 1: bad input"


def test_noop_executor_completes_at_once(make_request: RequestFactory) -> None:
    noop = NoopExecutor(log_lines=("hello",), write_output={"result.bin": b"42"})
    assert isinstance(noop, Executor) and isinstance(DockerExecutor, type)
    lines: list[str] = []
    request = make_request("")
    noop.start(request, on_log=lines.append)
    result = noop.wait(request.execution_id)
    assert result.ok and result.output_bytes == 2 and lines == ["hello"]
    assert (request.output_dir / "result.bin").read_bytes() == b"42"
    failing = NoopExecutor(state=ExecutionState.TIMED_OUT)
    other = make_request("")
    failing.start(other)
    assert failing.wait(other.execution_id).state is ExecutionState.TIMED_OUT
    with pytest.raises(ExecutionExists):
        noop.start(request)


def test_a_manifests_request_carries_its_image_entrypoint_and_limits(tmp_path: Path) -> None:
    manifest = load_manifest(FIXTURES / "minimal_job")
    resources = manifest.resources
    request = request_for_manifest(
        manifest,
        execution_id=ExecutionId("job-7-attempt-0"),
        job_id=7,
        input_dir=tmp_path / "in",
        output_dir=tmp_path / "out",
        extra_env={"REPLAY": "1"},
    )
    assert request.image.name == manifest.runtime.image and request.image.digest == manifest.runtime.digest
    assert request.argv == tuple(manifest.runtime.entrypoint) and request.job_id == "7"
    assert request.env == {**manifest.runtime.env, "REPLAY": "1"}
    assert request.output_limit_bytes == manifest.outputs.max_size_mib * MIB
    assert request.tmp_limit_bytes == min(resources.disk_mib, resources.memory_mib) * MIB
    assert (request.cpus, request.memory_mib, request.gpus) == (
        resources.cpus,
        resources.memory_mib,
        resources.gpus,
    )
    assert request.timeout_s == resources.timeout_s and request.input_dir == (tmp_path / "in").resolve()
    # the overrides a replay or a late start use
    tight = request_for_manifest(
        manifest,
        execution_id=ExecutionId("job-7-replay"),
        job_id=7,
        input_dir=tmp_path / "in",
        output_dir=tmp_path / "out",
        output_limit_bytes=16 * MIB,
        timeout_s=5,
        labels={"role": "validator"},
    )
    assert (tight.output_limit_bytes, tight.timeout_s, dict(tight.labels)) == (
        16 * MIB,
        5.0,
        {"role": "validator"},
    )
