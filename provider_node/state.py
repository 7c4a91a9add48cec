"""The node's memory across restarts: one SQLite file in its data dir.

`jobs` holds one row per claim (job id + the job's attempt number): the phase it reached, the execution id
(so a restarted node re-attaches to its container), timings, and the result record awaiting submission.
`open_jobs` holds the ids of jobs seen Open and not yet seen taken, so that a restart that resumes the
event reader after its checkpoint still knows the jobs posted before it.
"""

from __future__ import annotations

import enum
import json
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from chain import JobId, Wei
from jobs.cid import Cid, parse_cid
from jobs.executors import ExecutionId

__all__ = ["ACTIVE_PHASES", "JobKeys", "JobRecord", "Phase", "ResultRecord", "StateStore"]


class Phase(enum.StrEnum):
    CLAIMING = "claiming"  # claim sent, not known to be mined
    CLAIMED = "claimed"  # claim mined; execution not started
    RUNNING = "running"  # execution started (execution_id names it)
    FINISHED = "finished"  # result packed and pinned; submission pending
    SUBMITTED = "submitted"  # submitResult mined
    FAILED = "failed"  # the job failed by its own fault, or the node gave up: nothing submitted
    EXPIRED = "expired"  # the deadline passed before a result could be submitted
    LOST = "lost"  # the claim did not go through (another provider won)
    RELEASED = "released"  # a confidential job's claim given back: no content key, or one that did not open


ACTIVE_PHASES = frozenset({Phase.CLAIMING, Phase.CLAIMED, Phase.RUNNING, Phase.FINISHED})


class ResultRecord(TypedDict):
    """A packed and pinned result awaiting submission (stored as JSON in the record)."""

    cid: str
    digest: str  # hex of the CID's digest and its codec: what the chain stores
    codec: int
    checkpoint_root: str  # hex
    checkpoint_count: int
    files: int
    bytes: int
    execution: dict[str, Any]  # `ExecutionResult.to_dict()`
    energy: dict[str, Any] | None  # `EnergyReport.to_dict()`
    kwh: float | None
    gco2e: float | None
    failure: NotRequired[dict[str, Any] | None]  # a failure report's record (`jobs.failure`); None: a result


@dataclass(frozen=True)
class JobRecord:
    job_id: JobId
    attempt: int
    phase: Phase
    bundle_cid: Cid
    deadline: int = 0
    collateral: Wei = Wei(0)  # noqa: RUF009 (a NewType: the call returns the int unchanged)
    execution_id: ExecutionId | None = None
    tries: int = 0
    claimed_at: float | None = None
    started_at: float | None = None
    exited_at: float | None = None
    submitted_at: float | None = None
    result: ResultRecord | None = field(default=None, compare=False)
    note: str = ""

    @property
    def active(self) -> bool:
        return self.phase in ACTIVE_PHASES


_COLUMNS = tuple(f.name for f in fields(JobRecord))
_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    phase TEXT NOT NULL,
    bundle_cid TEXT NOT NULL DEFAULT '',
    deadline INTEGER NOT NULL DEFAULT 0,
    collateral TEXT NOT NULL DEFAULT '0',
    execution_id TEXT,
    tries INTEGER NOT NULL DEFAULT 0,
    claimed_at REAL,
    started_at REAL,
    exited_at REAL,
    submitted_at REAL,
    result TEXT,
    note TEXT NOT NULL DEFAULT '',
    updated_at REAL NOT NULL,
    PRIMARY KEY (job_id, attempt)
);
CREATE TABLE IF NOT EXISTS open_jobs (job_id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS job_keys (
    job_id INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    content_key BLOB,
    result_key BLOB,
    sealed_round INTEGER NOT NULL DEFAULT -1,
    PRIMARY KEY (job_id, attempt)
);
"""


@dataclass(frozen=True)
class JobKeys:
    """A confidential job's keys on this node: the content key the requester sealed to it, the result key it
    drew, and the last round whose committee it sealed them to (-1: none yet)."""

    job_id: JobId
    attempt: int
    content_key: bytes | None = field(default=None, repr=False)
    result_key: bytes | None = field(default=None, repr=False)
    sealed_round: int = -1


def _to_row(record: JobRecord) -> dict[str, Any]:
    row = {name: getattr(record, name) for name in _COLUMNS}
    row["phase"] = record.phase.value
    row["bundle_cid"] = str(record.bundle_cid)
    row["collateral"] = str(record.collateral)  # uint96 does not fit SQLite's integers
    row["result"] = json.dumps(record.result, sort_keys=True) if record.result is not None else None
    return row


def _from_row(row: sqlite3.Row) -> JobRecord:
    values = {name: row[name] for name in _COLUMNS}
    values["phase"] = Phase(values["phase"])
    values["bundle_cid"] = parse_cid(values["bundle_cid"])
    values["collateral"] = int(values["collateral"])
    values["result"] = json.loads(values["result"]) if values["result"] else None
    return JobRecord(**values)


class StateStore:
    """Thread-safe access to `state.db`; every write is committed before the call returns."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- claims ------------------------------------------------------------------------------------

    def put(self, record: JobRecord) -> JobRecord:
        row = _to_row(record)
        row["updated_at"] = time.time()
        names = ", ".join(row)
        marks = ", ".join(f":{name}" for name in row)
        with self._lock:
            self._db.execute(f"INSERT OR REPLACE INTO jobs ({names}) VALUES ({marks})", row)
        return record

    def update(self, record: JobRecord, **changes: Any) -> JobRecord:
        """Write `record` with `changes` applied and return the new record."""
        return self.put(replace(record, **changes))

    def get(self, job_id: JobId) -> JobRecord | None:
        """The latest claim of `job_id` (highest attempt), if this node ever claimed it."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM jobs WHERE job_id = ? ORDER BY attempt DESC LIMIT 1", (job_id,)
            ).fetchone()
        return _from_row(row) if row else None

    def records(self, phases: Iterable[Phase] | None = None) -> list[JobRecord]:
        query, params = "SELECT * FROM jobs", [p.value for p in phases or ()]
        if phases is not None and not params:
            return []
        if phases is not None:
            query += f" WHERE phase IN ({', '.join('?' * len(params))})"
        with self._lock:
            rows = self._db.execute(query + " ORDER BY job_id, attempt", params).fetchall()
        return [_from_row(row) for row in rows]

    def active(self) -> list[JobRecord]:
        return self.records(ACTIVE_PHASES)

    def count_active(self) -> int:
        marks = ", ".join("?" * len(ACTIVE_PHASES))
        with self._lock:
            row = self._db.execute(
                f"SELECT COUNT(*) FROM jobs WHERE phase IN ({marks})", [p.value for p in ACTIVE_PHASES]
            ).fetchone()
        return int(row[0])

    # -- confidential jobs' keys ------------------------------------------------------------------------

    def keys(self, job_id: JobId, attempt: int) -> JobKeys | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM job_keys WHERE job_id = ? AND attempt = ?", (job_id, attempt)
            ).fetchone()
        if row is None:
            return None
        return JobKeys(
            JobId(int(row["job_id"])),
            int(row["attempt"]),
            row["content_key"],
            row["result_key"],
            int(row["sealed_round"]),
        )

    def save_keys(self, job_id: JobId, attempt: int, **changes: Any) -> JobKeys:
        """Write `changes` (content_key, result_key, sealed_round) into the job's key record."""
        known = self.keys(job_id, attempt) or JobKeys(job_id, attempt)
        keys = replace(known, **changes)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO job_keys VALUES (?, ?, ?, ?, ?)",
                (int(job_id), attempt, keys.content_key, keys.result_key, keys.sealed_round),
            )
        return keys

    def sealed_submissions(self) -> list[tuple[JobId, int]]:
        """Submitted confidential jobs of this node (their committees may need the keys)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT k.job_id, k.attempt FROM job_keys k JOIN jobs j ON j.job_id = k.job_id "
                "AND j.attempt = k.attempt WHERE j.phase = ? AND k.result_key IS NOT NULL "
                "AND k.sealed_round < 65536",
                (Phase.SUBMITTED.value,),
            ).fetchall()
        return [(JobId(int(row[0])), int(row[1])) for row in rows]

    # -- jobs seen open ------------------------------------------------------------------------------

    def mark_open(self, job_ids: Iterable[JobId]) -> None:
        with self._lock:
            self._db.executemany("INSERT OR IGNORE INTO open_jobs VALUES (?)", [(int(j),) for j in job_ids])

    def mark_taken(self, job_ids: Iterable[JobId]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM open_jobs WHERE job_id = ?", [(int(j),) for j in job_ids])

    def open_jobs(self) -> list[JobId]:
        with self._lock:
            rows = self._db.execute("SELECT job_id FROM open_jobs ORDER BY job_id").fetchall()
        return [JobId(int(row[0])) for row in rows]
