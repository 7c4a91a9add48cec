"""Failure reports: what a provider submits when a job failed by its own fault, and how it is read back.

A job that exits non-zero, is killed at its memory limit, runs past its time limit or writes more than its
output limit did not fail because of the provider. Its provider submits a *failure report* instead of
letting the job expire (which would slash its collateral): an output archive, committed with
`submitResult` like any result, that holds

    crowdcompute-failure.json   the record below (`FAILURE_RECORD`, at the archive's root)
    checkpoints/manifest.json   the checkpoints the job wrote before it failed (when it wrote any)
    checkpoints/...             their files, when they fit in the job's output limit

and commits the Merkle root and count of those checkpoints (`jobs.commitments`). The record:

    {"format": 1, "kind": "exit" | "oom" | "timeout" | "output_limit", "exit_code": 3 | null,
     "segment": 2 | null, "checkpoints": ["<64 hex>", ...], "reason": "exited with code 3"}

`segment` is where the run failed: segment i runs from checkpoint i, so it is the index of the last
checkpoint written (null: none was). `exit_code` is kept for `exit` only (the other kinds are the sandbox's
doing; their exit code says nothing more). `reason` is the executor's words, for people.

Validators re-run the job in the limits it declares and compare the *outcome* (kind and exit code):
`FailureOutcome.digest` is what their vote's evidence carries (`FAILURE_SEGMENT`). A successful result
never holds `FAILURE_RECORD` (the provider leaves a file of that name out of it), so a job cannot make its
own success pass for a failure report.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs.commitments import (
    CHECKPOINT_MANIFEST,
    MAX_MANIFEST_BYTES,
    CommitmentError,
    checkpoint_digests,
    entry_digests,
)
from jobs.errors import JobsError
from jobs.executors.base import ExecutionResult, ExecutionState

__all__ = [
    "FAILURE_FORMAT",
    "FAILURE_RECORD",
    "FAILURE_SEGMENT",
    "SDK_JOURNAL",
    "FailureKind",
    "FailureOutcome",
    "FailureRecord",
    "FailureRecordError",
    "checkpoints_written",
    "is_failure_report",
    "read_failure_record",
    "write_failure_report",
]

FAILURE_RECORD = "crowdcompute-failure.json"
FAILURE_FORMAT = 1
# A vote's evidence segment when a failure report's outcome was compared (the validators' other sentinels
# count down from 2**32 - 1 in validator/verdict.py); lives here so the requester can name it too.
FAILURE_SEGMENT = 2**32 - 4
# The SDK's progress file (sdk.checkpoint.JOURNAL_FILE): what a training run that died had checkpointed.
SDK_JOURNAL = "checkpoints/journal.jsonl"
MAX_REASON_CHARS = 1_000


class FailureRecordError(JobsError, ValueError):
    """A failure record that is not one: malformed JSON, an unknown format or kind, a bad field."""


class FailureKind(enum.StrEnum):
    """How a job failed by its own fault."""

    EXIT = "exit"  # exited non-zero
    OOM = "oom"  # killed by the kernel at its declared memory limit
    TIMEOUT = "timeout"  # killed at its declared time limit
    OUTPUT_LIMIT = "output_limit"  # wrote more output than its declared limit


_KIND_OF_STATE = {
    ExecutionState.FAILED: FailureKind.EXIT,
    ExecutionState.OOM_KILLED: FailureKind.OOM,
    ExecutionState.TIMED_OUT: FailureKind.TIMEOUT,
    ExecutionState.OUTPUT_TOO_LARGE: FailureKind.OUTPUT_LIMIT,
}
_WORDS = {
    FailureKind.OOM: "ran out of memory within its declared limit",
    FailureKind.TIMEOUT: "ran past its declared time limit",
    FailureKind.OUTPUT_LIMIT: "wrote more than its declared output limit",
}


def _canonical(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class FailureOutcome:
    """What two runs of a failing job must agree on: the kind, and for `exit` the exit code."""

    kind: FailureKind
    exit_code: int | None = None

    def __post_init__(self) -> None:
        if self.kind is FailureKind.EXIT:
            if not isinstance(self.exit_code, int) or isinstance(self.exit_code, bool) or self.exit_code == 0:
                raise FailureRecordError(
                    f"an 'exit' failure needs a non-zero exit code, got {self.exit_code!r}"
                )
        elif self.exit_code is not None:
            raise FailureRecordError(f"a {self.kind.value!r} failure carries no exit code")

    @classmethod
    def of(cls, result: ExecutionResult) -> FailureOutcome | None:
        """The outcome of an execution that failed by the job's own fault; None for a success, and for
        an ending that may be the node's doing (cancelled, lost) or an exit without a code."""
        kind = _KIND_OF_STATE.get(result.state)
        if kind is None:
            return None
        if kind is FailureKind.EXIT:
            if not result.exit_code:
                return None
            return cls(kind, result.exit_code)
        return cls(kind)

    def to_json(self) -> dict[str, Any]:
        return {"format": FAILURE_FORMAT, "kind": self.kind.value, "exit_code": self.exit_code}

    @property
    def digest(self) -> bytes:
        """sha256 of the outcome's canonical JSON: the digest a vote's evidence carries."""
        return hashlib.sha256(_canonical(self.to_json())).digest()

    def __str__(self) -> str:
        if self.kind is FailureKind.EXIT:
            return f"exited with code {self.exit_code}"
        return _WORDS[self.kind]


@dataclass(frozen=True)
class FailureRecord:
    """The failure record of a report (see the module docstring)."""

    outcome: FailureOutcome
    checkpoints: tuple[bytes, ...] = ()
    reason: str = ""

    @property
    def segment(self) -> int | None:
        """The segment the run failed in: it started from the last checkpoint written (None: none was)."""
        return len(self.checkpoints) - 1 if self.checkpoints else None

    def to_json(self) -> dict[str, Any]:
        return {
            **self.outcome.to_json(),
            "segment": self.segment,
            "checkpoints": [digest.hex() for digest in self.checkpoints],
            "reason": self.reason[:MAX_REASON_CHARS],
        }

    @classmethod
    def from_json(cls, document: Any) -> FailureRecord:
        """Validate a record as read from a report; raises `FailureRecordError`."""
        if not isinstance(document, dict):
            raise FailureRecordError("a failure record is a JSON object")
        if document.get("format") != FAILURE_FORMAT:
            raise FailureRecordError(f"unknown failure record format {document.get('format')!r}")
        try:
            kind = FailureKind(str(document.get("kind")))
        except ValueError:
            raise FailureRecordError(f"unknown failure kind {document.get('kind')!r}") from None
        outcome = FailureOutcome(kind, document.get("exit_code"))
        listed = document.get("checkpoints")
        if not isinstance(listed, list):
            raise FailureRecordError("'checkpoints' must be a list of hex digests")
        checkpoints: list[bytes] = []
        for index, text in enumerate(listed):
            try:
                digest = bytes.fromhex(text) if isinstance(text, str) else b""
            except ValueError:
                digest = b""
            if len(digest) != 32:
                raise FailureRecordError(f"checkpoint {index} is not a 32-byte hex digest")
            checkpoints.append(digest)
        record = cls(outcome, tuple(checkpoints), str(document.get("reason", ""))[:MAX_REASON_CHARS])
        if document.get("segment") != record.segment:
            raise FailureRecordError(
                f"'segment' is {document.get('segment')!r}; {len(checkpoints)} checkpoints make it "
                f"{record.segment!r}"
            )
        return record

    @property
    def digest(self) -> bytes:
        """sha256 of the whole record's canonical JSON."""
        return hashlib.sha256(_canonical(self.to_json())).digest()


def is_failure_report(folder: Path) -> bool:
    """Whether an extracted result is a failure report (it holds `FAILURE_RECORD`, a symlink counts too:
    reading it then fails, which is the provider's problem)."""
    path = Path(folder) / FAILURE_RECORD
    return path.is_symlink() or path.exists()


def read_failure_record(folder: Path) -> FailureRecord:
    """The record of an extracted report; raises `FailureRecordError` when it is missing or malformed.
    Never followed through a symlink, read with a size cap."""
    path = Path(folder) / FAILURE_RECORD
    if path.is_symlink() or not path.is_file():
        raise FailureRecordError(f"{FAILURE_RECORD} is not a regular file")
    with path.open("rb") as handle:
        raw = handle.read(MAX_MANIFEST_BYTES + 1)
    if len(raw) > MAX_MANIFEST_BYTES:
        raise FailureRecordError(f"{FAILURE_RECORD} is larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FailureRecordError(f"{FAILURE_RECORD} is not valid JSON: {exc}") from None
    return FailureRecord.from_json(document)


def _journal_entries(output_dir: Path) -> list[Any]:
    """The SDK journal's entries, up to a line cut short by the death of the run."""
    path = output_dir / SDK_JOURNAL
    if path.parent.is_symlink() or path.is_symlink() or not path.is_file():
        return []
    with path.open("rb") as handle:
        raw = handle.read(MAX_MANIFEST_BYTES + 1)
    if len(raw) > MAX_MANIFEST_BYTES:
        raise CommitmentError(f"{SDK_JOURNAL} is larger than {MAX_MANIFEST_BYTES} bytes")
    entries = []
    for line in raw.decode(errors="replace").splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            break
    return entries


def checkpoints_written(output_dir: Path) -> tuple[list[Any], list[bytes]]:
    """The checkpoint entries a failed run left, as the job wrote them, and their digests: its
    `checkpoints/manifest.json` when it wrote one, else the SDK's journal (a run that dies never writes
    the manifest). Raises `CommitmentError` when what is there cannot be committed."""
    output_dir = Path(output_dir)
    manifest = output_dir / CHECKPOINT_MANIFEST
    if manifest.exists() or manifest.is_symlink():
        digests = checkpoint_digests(output_dir)  # refuses symlinks, caps the size
        document = json.loads(manifest.read_bytes())
        entries = document.get("checkpoints") if isinstance(document, dict) else document
        return list(entries or []), digests
    entries = _journal_entries(output_dir)
    return entries, entry_digests(entries)


def _regular_files(root: Path) -> list[tuple[Path, int]]:
    """Every regular file under `root` with its size; links, FIFOs and devices (written by the job) are
    never followed nor opened, and `os.walk` does not descend into linked folders."""
    found = []
    for folder, _, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            info = path.lstat()
            if stat.S_ISREG(info.st_mode):
                found.append((path, info.st_size))
    return found


def write_failure_report(
    output_dir: Path, dest: Path, outcome: FailureOutcome, reason: str, *, max_bytes: int
) -> FailureRecord:
    """Lay out a failure report in the new folder `dest` from a failed run's output folder: the record,
    the checkpoints listed before the failure, and their files when the job's `checkpoints/` folder fits
    in `max_bytes` (the job's output limit). An unusable checkpoint list leaves the report without
    checkpoints: the failure is what is reported."""
    output_dir = Path(output_dir)
    try:
        entries, digests = checkpoints_written(output_dir)
    except (CommitmentError, OSError, ValueError):
        entries, digests = [], []
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    source = output_dir / "checkpoints"
    files = _regular_files(source) if digests and source.is_dir() and not source.is_symlink() else []
    if sum(size for _, size in files) <= max_bytes:
        for path, _ in files:
            target = dest / "checkpoints" / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target, follow_symlinks=False)
        (dest / SDK_JOURNAL).unlink(missing_ok=True)  # one list: the manifest written below
    if digests:
        (dest / CHECKPOINT_MANIFEST).parent.mkdir(parents=True, exist_ok=True)
        (dest / CHECKPOINT_MANIFEST).unlink(missing_ok=True)
        (dest / CHECKPOINT_MANIFEST).write_text(json.dumps({"checkpoints": entries}))
    record = FailureRecord(outcome, tuple(digests), reason)
    (dest / FAILURE_RECORD).write_text(json.dumps(record.to_json(), indent=1))
    return record
