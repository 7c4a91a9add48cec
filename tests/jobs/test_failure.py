"""jobs/failure.py: the failure record's format, the outcome two runs must agree on, and the report a
provider lays out from a failed run's output folder (the SDK's journal, a manifest, hostile files)."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from jobs.bundle import pack_output
from jobs.commitments import CHECKPOINT_MANIFEST, checkpoint_commitment, checkpoint_digests, merkle_root
from jobs.executors import ExecutionId, ExecutionResult, ExecutionState
from jobs.failure import (
    FAILURE_RECORD,
    SDK_JOURNAL,
    FailureKind,
    FailureOutcome,
    FailureRecord,
    FailureRecordError,
    checkpoints_written,
    is_failure_report,
    read_failure_record,
    write_failure_report,
)

DIGESTS = [hashlib.sha256(f"checkpoint {i}".encode()).digest() for i in range(3)]


def result(state: ExecutionState, exit_code: int | None) -> ExecutionResult:
    now = datetime.now(UTC)
    return ExecutionResult(ExecutionId("e"), state, exit_code, f"{state.value}", now, now)


def sdk_entry(index: int) -> dict[str, Any]:
    """A line of the SDK's journal (sdk.checkpoint.CheckpointEntry.to_json)."""
    return {
        "index": index,
        "digest": DIGESTS[index].hex(),
        "step": index * 10,
        "file": f"checkpoints/ckpt_{index}.pt",
    }


def died_after(out: Path, checkpoints: int, *, cut_line: bool = False) -> Path:
    """An output folder as the SDK leaves it when the run dies after `checkpoints` checkpoints."""
    (out / "checkpoints").mkdir(parents=True)
    lines = []
    for index in range(checkpoints):
        (out / "checkpoints" / f"ckpt_{index}.pt").write_bytes(f"state {index}".encode())
        lines.append(json.dumps(sdk_entry(index)))
    text = "".join(line + "\n" for line in lines) + ('{"index": 9, "dig' if cut_line else "")
    (out / SDK_JOURNAL).write_text(text)
    return out


# -- the outcome -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "code", "expected"),
    [
        (ExecutionState.FAILED, 3, FailureOutcome(FailureKind.EXIT, 3)),
        (ExecutionState.OOM_KILLED, 137, FailureOutcome(FailureKind.OOM)),
        (ExecutionState.TIMED_OUT, None, FailureOutcome(FailureKind.TIMEOUT)),
        (ExecutionState.OUTPUT_TOO_LARGE, 0, FailureOutcome(FailureKind.OUTPUT_LIMIT)),
        (ExecutionState.SUCCEEDED, 0, None),
        (ExecutionState.CANCELLED, 137, None),  # the node asked it to stop
        (ExecutionState.LOST, None, None),  # the engine lost it: the node's failure, never reported
        (ExecutionState.FAILED, None, None),  # no exit code: nothing to compare
    ],
)
def test_the_outcome_of_an_execution_is_the_job_s_fault_only_when_the_sandbox_did_it(
    state: ExecutionState, code: int | None, expected: FailureOutcome | None
) -> None:
    assert FailureOutcome.of(result(state, code)) == expected


def test_outcome_digests_differ_by_kind_and_exit_code_only() -> None:
    exit3 = FailureOutcome(FailureKind.EXIT, 3)
    assert exit3.digest == FailureOutcome(FailureKind.EXIT, 3).digest
    assert exit3.digest != FailureOutcome(FailureKind.EXIT, 4).digest
    assert exit3.digest != FailureOutcome(FailureKind.OOM).digest
    expected = hashlib.sha256(b'{"exit_code":3,"format":1,"kind":"exit"}').digest()
    assert exit3.digest == expected, "the canonical JSON a vote's evidence commits to"


def test_an_exit_outcome_needs_a_non_zero_code_and_the_others_carry_none() -> None:
    with pytest.raises(FailureRecordError):
        FailureOutcome(FailureKind.EXIT, 0)
    with pytest.raises(FailureRecordError):
        FailureOutcome(FailureKind.EXIT, None)
    with pytest.raises(FailureRecordError):
        FailureOutcome(FailureKind.OOM, 137)


# -- the record --------------------------------------------------------------------------------------------


def test_a_record_round_trips_and_names_the_segment_it_failed_in() -> None:
    record = FailureRecord(FailureOutcome(FailureKind.EXIT, 2), tuple(DIGESTS), "exited with code 2")
    document = record.to_json()
    assert document == {
        "format": 1,
        "kind": "exit",
        "exit_code": 2,
        "segment": 2,
        "checkpoints": [d.hex() for d in DIGESTS],
        "reason": "exited with code 2",
    }
    assert FailureRecord.from_json(json.loads(json.dumps(document))) == record
    assert FailureRecord(FailureOutcome(FailureKind.OOM)).segment is None


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"format": 2}, "format"),
        ({"kind": "crashed"}, "kind"),
        ({"kind": "exit", "exit_code": 0}, "non-zero"),
        ({"kind": "oom", "exit_code": 137}, "no exit code"),
        ({"checkpoints": ["zz"]}, "checkpoint 0"),
        ({"checkpoints": "ab"}, "list"),
        ({"segment": 0}, "segment"),
    ],
)
def test_a_malformed_record_is_refused(change: dict[str, Any], problem: str) -> None:
    document = {**FailureRecord(FailureOutcome(FailureKind.EXIT, 1)).to_json(), **change}
    with pytest.raises(FailureRecordError, match=problem):
        FailureRecord.from_json(document)


def test_a_record_is_read_from_a_report_never_through_a_symlink(tmp_path: Path) -> None:
    assert not is_failure_report(tmp_path)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps(FailureRecord(FailureOutcome(FailureKind.OOM)).to_json()))
    (tmp_path / FAILURE_RECORD).symlink_to(elsewhere)
    assert is_failure_report(tmp_path)
    with pytest.raises(FailureRecordError, match="not a regular file"):
        read_failure_record(tmp_path)
    (tmp_path / FAILURE_RECORD).unlink()
    (tmp_path / FAILURE_RECORD).write_text("{not json")
    with pytest.raises(FailureRecordError, match="not valid JSON"):
        read_failure_record(tmp_path)


# -- the report a provider lays out ------------------------------------------------------------------------


def test_the_sdk_journal_of_a_run_that_died_gives_its_checkpoints(tmp_path: Path) -> None:
    out = died_after(tmp_path / "out", 3, cut_line=True)
    entries, digests = checkpoints_written(out)
    assert digests == DIGESTS and entries == [sdk_entry(i) for i in range(3)]


def test_a_manifest_the_job_wrote_comes_before_the_journal(tmp_path: Path) -> None:
    out = died_after(tmp_path / "out", 3)
    (out / CHECKPOINT_MANIFEST).write_text(json.dumps({"checkpoints": [sdk_entry(0)]}))
    assert checkpoints_written(out)[1] == DIGESTS[:1]


def test_the_sdk_journal_path_is_the_sdk_s() -> None:
    from sdk.checkpoint import JOURNAL_FILE

    assert SDK_JOURNAL == JOURNAL_FILE


def test_a_report_holds_the_record_and_the_checkpoints_committed_like_a_result(tmp_path: Path) -> None:
    out = died_after(tmp_path / "out", 3)
    (out / "model.pt").write_bytes(b"not part of a report")
    outcome = FailureOutcome(FailureKind.EXIT, 1)
    record = write_failure_report(out, tmp_path / "report", outcome, "exited with code 1", max_bytes=1 << 20)

    report = tmp_path / "report"
    assert record == read_failure_record(report)
    assert record.checkpoints == tuple(DIGESTS) and record.segment == 2
    assert checkpoint_digests(report) == DIGESTS
    assert checkpoint_commitment(report).root == merkle_root(DIGESTS)
    files = sorted(str(p.relative_to(report)) for p in report.rglob("*") if p.is_file())
    assert files == [
        "checkpoints/ckpt_0.pt",
        "checkpoints/ckpt_1.pt",
        "checkpoints/ckpt_2.pt",
        "checkpoints/manifest.json",
        FAILURE_RECORD,
    ], "the journal becomes the manifest; the rest of the output is not reported"
    # The job's own entries are kept (the SDK resumes from them: it needs `step` and `file`).
    assert json.loads((report / CHECKPOINT_MANIFEST).read_text())["checkpoints"][1] == sdk_entry(1)


def test_checkpoint_files_over_the_output_limit_are_left_out_but_still_listed(tmp_path: Path) -> None:
    out = died_after(tmp_path / "out", 3)
    record = write_failure_report(out, tmp_path / "report", FailureOutcome(FailureKind.OOM), "", max_bytes=4)
    assert record.checkpoints == tuple(DIGESTS)
    names = sorted(p.name for p in (tmp_path / "report").rglob("*") if p.is_file())
    assert names == [FAILURE_RECORD, "manifest.json"]


def test_a_run_without_checkpoints_or_with_an_unusable_list_reports_none(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    record = write_failure_report(
        empty, tmp_path / "r1", FailureOutcome(FailureKind.EXIT, 1), "", max_bytes=1
    )
    assert record.checkpoints == () and checkpoint_commitment(tmp_path / "r1").count == 0

    broken = died_after(tmp_path / "broken", 2)
    (broken / CHECKPOINT_MANIFEST).write_text('{"checkpoints": [{"index": 5, "digest": "00"}]}')
    record = write_failure_report(
        broken, tmp_path / "r2", FailureOutcome(FailureKind.EXIT, 1), "", max_bytes=1
    )
    assert record.checkpoints == ()


def test_links_and_fifos_the_job_left_among_its_checkpoints_are_never_followed(tmp_path: Path) -> None:
    secret = tmp_path / "host-secret"
    secret.write_text("do not publish")
    out = died_after(tmp_path / "out", 1)
    (out / "checkpoints" / "leak").symlink_to(secret)
    os.mkfifo(out / "checkpoints" / "pipe")  # opening it would block the provider forever
    write_failure_report(out, tmp_path / "report", FailureOutcome(FailureKind.EXIT, 1), "", max_bytes=1 << 20)
    names = sorted(p.name for p in (tmp_path / "report" / "checkpoints").iterdir())
    assert names == ["ckpt_0.pt", "manifest.json"]


def test_a_success_never_packs_a_record_the_job_wrote_itself(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "model.bin").write_bytes(b"model")
    (out / FAILURE_RECORD).write_text(json.dumps(FailureRecord(FailureOutcome(FailureKind.OOM)).to_json()))
    packed = pack_output(out, tmp_path / "result.tar", leave_out=(FAILURE_RECORD,))
    assert packed.files == 1
    assert any(FAILURE_RECORD in skipped for skipped in packed.skipped)
