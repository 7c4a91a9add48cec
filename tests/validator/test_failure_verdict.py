"""A failure report is judged by re-running the job: the same failure approves (the requester's code is at
fault), a success or another failure rejects (the provider skipped the work). Pure rules first, then the
verifier's path on a real store with the re-run scripted (no Docker)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from chain import ZERO_BYTES32, Job, JobSpec, VerificationMode, VoteReason
from jobs.bundle import pack_output
from jobs.commitments import CHECKPOINT_MANIFEST, merkle_root
from jobs.executors import ExecutionId, ExecutionResult, ExecutionState
from jobs.failure import FAILURE_RECORD, FAILURE_SEGMENT, FailureKind, FailureOutcome, write_failure_report
from jobs.store import EmbeddedStore
from validator.reexecute import Reexecution
from validator.verdict import BAD_COMMITMENT, judge_failure
from validator.verify import Submission, Verifier

ME = "0x" + "11" * 20
EXIT_3 = FailureOutcome(FailureKind.EXIT, 3)
DIGESTS = [hashlib.sha256(f"checkpoint {i}".encode()).digest() for i in range(3)]


def rerun(state: ExecutionState, exit_code: int | None = None, seconds: float = 5.0) -> ExecutionResult:
    start = datetime.now(UTC)
    return ExecutionResult(
        ExecutionId("verify-7"), state, exit_code, state.value, start, start + timedelta(seconds=seconds), 2.0
    )


# -- the rules ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reported", "ended"),
    [
        (EXIT_3, rerun(ExecutionState.FAILED, 3)),
        (FailureOutcome(FailureKind.OOM), rerun(ExecutionState.OOM_KILLED, 137)),
        (FailureOutcome(FailureKind.TIMEOUT), rerun(ExecutionState.TIMED_OUT)),
        (FailureOutcome(FailureKind.OUTPUT_LIMIT), rerun(ExecutionState.OUTPUT_TOO_LARGE, 0)),
    ],
)
def test_the_same_failure_approves_with_the_outcome_digests_as_evidence(
    reported: FailureOutcome, ended: ExecutionResult
) -> None:
    verdict = judge_failure(reported, ended)
    assert verdict.approve is True, verdict.reason
    assert verdict.evidence.segment == FAILURE_SEGMENT
    assert verdict.evidence.committed_digest == verdict.evidence.recomputed_digest == reported.digest
    assert verdict.evidence.reason == VoteReason.RECOMPUTED  # the contract takes no other on an approval


def test_a_job_that_succeeds_when_re_run_rejects_the_report() -> None:
    verdict = judge_failure(EXIT_3, rerun(ExecutionState.SUCCEEDED, 0))
    assert verdict.approve is False and "succeeded when re-run" in verdict.reason
    assert verdict.evidence.segment == FAILURE_SEGMENT
    assert (verdict.evidence.committed_digest, verdict.evidence.recomputed_digest) == (
        EXIT_3.digest,
        ZERO_BYTES32,
    )
    assert verdict.evidence.reason == VoteReason.RECOMPUTED


@pytest.mark.parametrize(
    "ended",
    [
        rerun(ExecutionState.FAILED, 4),
        rerun(ExecutionState.OOM_KILLED, 137),
        rerun(ExecutionState.OUTPUT_TOO_LARGE),
    ],
)
def test_another_failure_rejects_the_report(ended: ExecutionResult) -> None:
    verdict = judge_failure(EXIT_3, ended)
    assert verdict.approve is False
    observed = FailureOutcome.of(ended)
    assert observed is not None
    assert (verdict.evidence.committed_digest, verdict.evidence.recomputed_digest) == (
        EXIT_3.digest,
        observed.digest,
    )


@pytest.mark.parametrize(
    "ended",
    [
        rerun(ExecutionState.LOST),  # this node's engine
        rerun(ExecutionState.CANCELLED, 137),  # this node stopped it
        rerun(ExecutionState.TIMED_OUT),  # this node may be slower than the provider
    ],
)
def test_an_ending_this_node_may_have_caused_abstains(ended: ExecutionResult) -> None:
    assert judge_failure(EXIT_3, ended).approve is None


# -- the verifier's path -----------------------------------------------------------------------------------


def failed_output(folder: Path, checkpoints: int) -> Path:
    """A run's output folder with `checkpoints` checkpoints listed in the SDK's journal."""
    (folder / "checkpoints").mkdir(parents=True)
    lines = []
    for index in range(checkpoints):
        (folder / "checkpoints" / f"ckpt_{index}.pt").write_bytes(f"state {index}".encode())
        lines.append(json.dumps({"index": index, "digest": DIGESTS[index].hex()}) + "\n")
    (folder / "checkpoints" / "journal.jsonl").write_text("".join(lines))
    return folder


class Harness:
    """A verifier over a real embedded store whose re-run is scripted; it records how it was asked to run."""

    def __init__(self, tmp_path: Path, ended: ExecutionResult) -> None:
        self.tmp_path = tmp_path
        self.store = EmbeddedStore(tmp_path / "store")
        self.verifier = Verifier(self.store, executor=None, bundles=None, work_dir=tmp_path / "work", me=ME)  # type: ignore[arg-type]
        self.calls: list[dict[str, Any]] = []
        self.seeded: list[str] = []

        def run(*args: Any, **kwargs: Any) -> Reexecution:
            self.calls.append(kwargs)
            seed = kwargs.get("output_seed")
            if seed is not None:
                self.seeded = sorted(str(p.relative_to(seed)) for p in seed.rglob("*") if p.is_file())
            return Reexecution(ended, tmp_path / "out", None)

        self.verifier._run = run  # type: ignore[method-assign]
        self.bundle: Any = SimpleNamespace(
            manifest=SimpleNamespace(outputs=SimpleNamespace(max_size_mib=8, path="."))
        )

    def submit(self, folder: Path, *, root: bytes | None = None, count: int | None = None) -> Submission:
        packed = pack_output(folder, self.tmp_path / f"{folder.name}.tar")
        cid = self.store.add_file(packed.path)
        listed = (
            json.loads((folder / CHECKPOINT_MANIFEST).read_text())["checkpoints"]
            if (folder / CHECKPOINT_MANIFEST).exists()
            else []
        )
        digests = [bytes.fromhex(entry["digest"]) for entry in listed]
        spec = JobSpec(
            bundle_digest=b"\x01" * 32,
            bundle_codec=0x55,
            run_timeout=60,
            mode=VerificationMode.SEGMENTS,
            committee_size=1,
            samples_per_validator=2,
        )
        return Submission(
            7,
            0,
            Job(spec),
            cid,
            merkle_root(digests) if root is None else root,
            len(digests) if count is None else count,
            b"\x05" * 32,
        )

    def judge(self, submission: Submission) -> Any:
        return self.verifier._failure_report(submission, self.bundle, self.tmp_path / "seat", 0)


def report(tmp_path: Path, outcome: FailureOutcome, checkpoints: int = 3) -> Path:
    output = failed_output(tmp_path / "run", checkpoints)
    write_failure_report(output, tmp_path / "report", outcome, "exited with code 3", max_bytes=1 << 20)
    return tmp_path / "report"


def test_a_reproduced_failure_is_approved_after_resuming_from_the_last_checkpoint(tmp_path: Path) -> None:
    harness = Harness(tmp_path, rerun(ExecutionState.FAILED, 3))
    verdict = harness.judge(harness.submit(report(tmp_path, EXIT_3)))
    assert verdict.approve is True, verdict.reason
    assert verdict.evidence.segment == FAILURE_SEGMENT
    assert verdict.segments == ("failure report (from checkpoint 2)",)
    # The re-run starts on the provider's checkpoints, in the output limit the job declares.
    assert harness.seeded == [
        "checkpoints/ckpt_0.pt",
        "checkpoints/ckpt_1.pt",
        "checkpoints/ckpt_2.pt",
        "checkpoints/manifest.json",
    ]
    assert harness.calls[0]["output_limit"] == 8 * 1024 * 1024


def test_a_reported_failure_the_job_does_not_have_is_rejected(tmp_path: Path) -> None:
    harness = Harness(tmp_path, rerun(ExecutionState.SUCCEEDED, 0))
    verdict = harness.judge(harness.submit(report(tmp_path, EXIT_3)))
    assert verdict.approve is False and "succeeded when re-run" in verdict.reason


def test_a_reported_timeout_is_re_run_from_the_start_with_the_whole_time(tmp_path: Path) -> None:
    harness = Harness(tmp_path, rerun(ExecutionState.TIMED_OUT))
    verdict = harness.judge(harness.submit(report(tmp_path, FailureOutcome(FailureKind.TIMEOUT))))
    assert verdict.approve is True
    assert harness.calls[0]["output_seed"] is None and verdict.segments == (
        "failure report (from the start)",
    )


def test_a_report_whose_checkpoints_are_not_the_committed_ones_is_a_bad_commitment(tmp_path: Path) -> None:
    harness = Harness(tmp_path, rerun(ExecutionState.FAILED, 3))
    submission = harness.submit(report(tmp_path, EXIT_3), root=b"\x01" * 32)
    verdict = harness.judge(submission)
    assert verdict.approve is False and verdict.evidence.segment == BAD_COMMITMENT
    assert not harness.calls, "nothing is re-run for a report that does not match its commitment"


def test_a_record_that_disagrees_with_the_report_s_manifest_is_rejected(tmp_path: Path) -> None:
    folder = report(tmp_path, EXIT_3)
    record = json.loads((folder / FAILURE_RECORD).read_text())
    record["checkpoints"], record["segment"] = record["checkpoints"][:1], 0
    (folder / FAILURE_RECORD).write_text(json.dumps(record))
    harness = Harness(tmp_path, rerun(ExecutionState.FAILED, 3))
    verdict = harness.judge(harness.submit(folder))
    assert verdict.approve is False and verdict.evidence.segment == BAD_COMMITMENT


def test_verify_takes_the_failure_path_for_a_result_that_holds_a_record(tmp_path: Path) -> None:
    harness = Harness(tmp_path, rerun(ExecutionState.FAILED, 3))
    submission = harness.submit(report(tmp_path, EXIT_3))
    harness.bundle.manifest.verification = SimpleNamespace(tolerance=None)
    harness.verifier.bundles = SimpleNamespace(get=lambda cid: harness.bundle)  # type: ignore[assignment]
    verdict = harness.verifier.verify(submission)
    assert verdict.approve is True and verdict.evidence.segment == FAILURE_SEGMENT
