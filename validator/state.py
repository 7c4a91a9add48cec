"""The validator's memory across restarts: one SQLite file in its data dir.

One row per committee round it may sit on (job id + attempt + round: an appeal starts round 1, then 2, each
with a committee of its own drawn afresh): the phase reached, its seats,
the verdict and its evidence, the CPU its replays used, and its signed votes. The phase is written before
each step that cannot be taken twice for free: a restarted node finds its signed votes (`voting`: not
delivered to the gateway yet) and sends them again instead of re-running the work.

A file written before appeals (no `round`, primary key (job_id, attempt)) is rebuilt in place when opened: its
rows become round 0.
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

from chain import JobId

__all__ = ["OPEN_PHASES", "EvidenceRecord", "Phase", "SubmittedResult", "Verification", "VerificationStore"]


class Phase(enum.StrEnum):
    DRAWING = "drawing"  # submitted; the seed block is not mined yet, so the seats are not known
    PENDING = "pending"  # on the committee (`seats`); not verified yet
    VOTING = "voting"  # verdict reached, votes signed and saved; not delivered to the gateway yet
    VOTED = "voted"  # the signed votes are with the gateway (and kept here for finalize)
    ABSTAINED = "abstained"  # no vote, nothing signed: data could not be had, the window closed, ...
    FINALIZED = "finalized"  # the job was settled (by anyone)


OPEN_PHASES = frozenset({Phase.DRAWING, Phase.PENDING, Phase.VOTING, Phase.VOTED})


class SubmittedResult(TypedDict):
    """What the provider submitted (from its `ResultSubmitted` event) and the committee's seed, in hex."""

    digest: str  # the result CID's digest; with `codec`, the CID
    codec: int
    root: str  # Merkle root of the checkpoint digests
    count: int  # checkpoints committed
    seed: str


class EvidenceRecord(TypedDict):
    """The vote's evidence, saved before it is sent (`ballot.evidence_of` gives the contract's form)."""

    segment: int
    committed: str  # hex digests
    recomputed: str
    reason: NotRequired[int]  # VoteReason; records saved before it existed have none (RECOMPUTED)


@dataclass(frozen=True)
class Verification:
    job_id: JobId
    attempt: int
    phase: Phase
    round: int = 0  # the committee round (0, then an appeal's 1 and 2); one record per round
    seats: list[int] = field(default_factory=list, compare=False)  # seat numbers (several: one vote each)
    submit_block: int = 0
    last_block: int = 0  # the window's last block: submit block + 1 (the seed) + verify blocks
    mode: int = 0
    approve: bool | None = None
    reason: str = ""
    evidence: EvidenceRecord | None = field(default=None, compare=False)
    segments: list[str] | None = field(default=None, compare=False)  # the verdict's checks, by label
    result: SubmittedResult | None = field(default=None, compare=False)
    cpu_s: float | None = None
    votes: list[dict[str, Any]] | None = field(default=None, compare=False)  # `SignedVote.to_json()`s
    outcome: str = ""
    tries: int = 0
    updated_at: float = 0.0
    appealed: str = ""  # the appeal this node sent against the round's decision (tx hash), if any
    # When each step happened (Unix time): noted, seated, verifying, verdict, voted (bench/e2e.py reads them).
    times: dict[str, float] | None = field(default=None, compare=False)

    @property
    def key(self) -> tuple[JobId, int, int]:
        return (self.job_id, self.attempt, self.round)

    @property
    def open(self) -> bool:
        return self.phase in OPEN_PHASES

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["phase"] = self.phase.value
        return data


_COLUMNS = tuple(f.name for f in fields(Verification))
_JSON_COLUMNS = frozenset({"evidence", "segments", "result", "seats", "votes", "times"})
_COLUMN_TYPES = {
    "cpu_s": "REAL",
    "reason": "TEXT",
    "outcome": "TEXT",
    "appealed": "TEXT",
    "phase": "TEXT",
    "updated_at": "REAL",
} | dict.fromkeys(_JSON_COLUMNS, "TEXT")
_NOT_NULL = frozenset({"job_id", "attempt", "phase", "round"})
_SCHEMA = ", ".join(
    f"{name} {_COLUMN_TYPES.get(name, 'INTEGER')}"
    + (" NOT NULL" if name in _NOT_NULL else "")
    + (" DEFAULT 0" if name == "round" else "")
    for name in _COLUMNS
)


class VerificationStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            f"CREATE TABLE IF NOT EXISTS verifications ({_SCHEMA}, PRIMARY KEY (job_id, attempt, round))"
        )
        present = [row[1] for row in self._db.execute("PRAGMA table_info(verifications)")]
        if "round" not in present:
            self._rebuild(present)
            present = list(_COLUMNS)
        # A state file written before seats and signed votes: add their columns (old ones stay unused).
        for name in _COLUMNS:
            if name not in present:
                self._db.execute(
                    f"ALTER TABLE verifications ADD COLUMN {name} {_COLUMN_TYPES.get(name, 'INTEGER')}"
                )

    def _rebuild(self, present: list[str]) -> None:
        """A file from before appeals: its key has no round. Copy its rows (as round 0) into a table keyed by
        (job_id, attempt, round), in one transaction, so a node stopped half-way finds the old file intact."""
        kept = [name for name in _COLUMNS if name in present]
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute(
                f"CREATE TABLE verifications_v2 ({_SCHEMA}, PRIMARY KEY (job_id, attempt, round))"
            )
            self._db.execute(
                f"INSERT INTO verifications_v2 ({','.join(kept)}, round)"
                f" SELECT {','.join(kept)}, 0 FROM verifications"
            )
            self._db.execute("DROP TABLE verifications")
            self._db.execute("ALTER TABLE verifications_v2 RENAME TO verifications")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _row(self, row: tuple[Any, ...]) -> Verification:
        values = dict(zip(_COLUMNS, row, strict=True))
        for name in _JSON_COLUMNS:
            values[name] = json.loads(values[name]) if values[name] else None
        values["phase"] = Phase(values["phase"])
        values["seats"] = values["seats"] or []
        values["approve"] = None if values["approve"] is None else bool(values["approve"])
        values["round"] = values["round"] or 0
        values["appealed"] = values["appealed"] or ""
        return Verification(**values)

    def put(self, record: Verification) -> Verification:
        record = replace(record, updated_at=time.time())
        values = []
        for name in _COLUMNS:
            value = getattr(record, name)
            if name in _JSON_COLUMNS:
                value = json.dumps(value) if value is not None else None
            elif isinstance(value, enum.Enum):
                value = value.value
            values.append(value)
        marks = ",".join("?" * len(_COLUMNS))
        with self._lock:
            self._db.execute(
                f"INSERT OR REPLACE INTO verifications ({','.join(_COLUMNS)}) VALUES ({marks})", values
            )
        return record

    def update(self, record: Verification, **changes: Any) -> Verification:
        return self.put(replace(record, **changes))

    def delete(self, job_id: JobId, attempt: int, round_: int = 0) -> None:
        """Forget a round of a submission (drawn without a seat for this node)."""
        with self._lock:
            self._db.execute(
                "DELETE FROM verifications WHERE job_id = ? AND attempt = ? AND round = ?",
                (job_id, attempt, round_),
            )

    def get(self, job_id: JobId, attempt: int, round_: int = 0) -> Verification | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {','.join(_COLUMNS)} FROM verifications"
                " WHERE job_id = ? AND attempt = ? AND round = ?",
                (job_id, attempt, round_),
            ).fetchone()
        return self._row(row) if row else None

    def rounds(self, job_id: JobId, attempt: int) -> list[Verification]:
        """Every round this node recorded of one submission, in round order."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {','.join(_COLUMNS)} FROM verifications WHERE job_id = ? AND attempt = ?"
                " ORDER BY round",
                (job_id, attempt),
            ).fetchall()
        return [self._row(row) for row in rows]

    def records(self, phases: Iterable[Phase] | None = None) -> list[Verification]:
        query = f"SELECT {','.join(_COLUMNS)} FROM verifications"
        args: tuple[Any, ...] = ()
        if phases is not None:
            wanted = [phase.value for phase in phases]
            query += f" WHERE phase IN ({','.join('?' * len(wanted))})"
            args = tuple(wanted)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY job_id, attempt, round", args).fetchall()
        return [self._row(row) for row in rows]
