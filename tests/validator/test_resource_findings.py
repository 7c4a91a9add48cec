"""A re-run killed at the memory limit the job declares is a finding against the provider (it cannot have
produced its result within the declared resources); any other unfinished re-run is no finding."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from chain import Job, JobSpec, VerificationMode, VoteReason
from jobs.commitments import merkle_root
from jobs.executors import ExecutionId, ExecutionResult, ExecutionState
from jobs.store import EmbeddedStore
from validator.reexecute import Reexecution
from validator.verdict import EXCEEDED_RESOURCES
from validator.verify import Submission, Verifier

ME = "0x" + "11" * 20
CHECKPOINTS = 5
DIGESTS = [bytes([i + 1]) * 32 for i in range(CHECKPOINTS)]
ROOT = merkle_root(DIGESTS)


def _result_tar() -> bytes:
    listing = [{"index": i, "digest": digest.hex()} for i, digest in enumerate(DIGESTS)]
    files = {f"checkpoints/ckpt_{i}.pt": bytes([i]) * 8 for i in range(CHECKPOINTS)}
    files |= {"checkpoints/manifest.json": json.dumps({"checkpoints": listing}).encode(), "model.pt": b"w"}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _verify(tmp_path: Path, mode: VerificationMode, state: ExecutionState) -> Any:
    """Verify a submission whose re-run ends in `state` without writing anything."""
    store = EmbeddedStore(tmp_path / "store")
    cid = store.add_bytes(_result_tar())
    spec = JobSpec(run_timeout=60, mode=mode, committee_size=1, samples_per_validator=2)
    submission = Submission(7, 0, Job(spec), cid, ROOT, CHECKPOINTS, b"\x05" * 32)
    bundle: Any = SimpleNamespace(
        manifest=SimpleNamespace(
            outputs=SimpleNamespace(max_size_mib=8), verification=SimpleNamespace(tolerance=None)
        )
    )
    verifier = Verifier(store, executor=None, bundles=None, work_dir=tmp_path / "work", me=ME)  # type: ignore[arg-type]
    ended = ExecutionResult(
        ExecutionId("replay-7"), state, 137, "at its 512 MiB memory limit", cpu_seconds=3.0
    )
    verifier._run = lambda *args, **kwargs: Reexecution(ended, tmp_path / "out", None)  # type: ignore[method-assign]
    folder = tmp_path / "job"
    if mode == VerificationMode.REPLICATE:
        return verifier._replicate(submission, bundle, folder, 0)
    result = verifier._fetch_result(submission, bundle, folder, verifier._needed(submission, bundle))
    return verifier._sampled(submission, bundle, result, folder, 0)


@pytest.mark.parametrize(
    "mode", [VerificationMode.SEGMENTS, VerificationMode.SHARDS, VerificationMode.REPLICATE]
)
def test_a_rerun_killed_at_the_declared_memory_limit_rejects(tmp_path: Path, mode: VerificationMode) -> None:
    verdict = _verify(tmp_path, mode, ExecutionState.OOM_KILLED)
    assert verdict.approve is False, verdict
    assert verdict.evidence.reason is VoteReason.EXCEEDS_DECLARED_RESOURCES
    assert (verdict.evidence.segment, verdict.evidence.committed_digest) == (EXCEEDED_RESOURCES, ROOT)
    assert "could not run in the resources the job declares" in verdict.reason
    assert verdict.cpu_s == 3.0


@pytest.mark.parametrize("mode", [VerificationMode.SEGMENTS, VerificationMode.REPLICATE])
def test_a_rerun_that_timed_out_is_an_abstention(tmp_path: Path, mode: VerificationMode) -> None:
    verdict = _verify(tmp_path, mode, ExecutionState.TIMED_OUT)
    assert verdict.approve is None, verdict
