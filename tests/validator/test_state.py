"""validator/state.py: the validator's restart-safe records, on a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from chain import JobId
from validator.state import OPEN_PHASES, Phase, Verification, VerificationStore

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "node" / "state.db"


@pytest.fixture
def store(path: Path) -> Iterator[VerificationStore]:
    opened = VerificationStore(path)
    yield opened
    opened.close()


VOTE: dict[str, Any] = {
    "job_id": 7,
    "seat": 2,
    "validator": "0x" + "11" * 20,
    "approve": False,
    "evidence": {"segment": 6, "committed_digest": "0x" + "aa" * 32, "recomputed_digest": "0x" + "bb" * 32},
    "r": "0x" + "cd" * 32,
    "vs": "0x" + "ef" * 32,
}


def seat(job_id: int = 7, attempt: int = 1, **changes: Any) -> Verification:
    record = Verification(
        job_id=job_id,
        attempt=attempt,
        phase=Phase.PENDING,
        seats=[0, 2],
        submit_block=100,
        last_block=110,
        mode=1,
        result={"digest": "33" * 32, "codec": 0x55, "root": "44" * 32, "count": 9, "seed": "ab" * 32},
    )
    return replace(record, **changes)


def test_a_record_comes_back_whole(store: VerificationStore, path: Path) -> None:
    assert path.is_file(), "the store creates its folder and file"
    written = store.put(
        seat(
            phase=Phase.VOTED,
            approve=False,
            reason="segment 5 recomputes to another state",
            evidence={"segment": 6, "committed": "aa" * 32, "recomputed": "bb" * 32},
            segments=["init", "5", "final"],
            cpu_s=12.25,
            votes=[VOTE],
            tries=2,
        )
    )
    got = store.get(7, 1)
    assert got == written
    assert got is not None
    # evidence, segments and result are stored as JSON and excluded from ==: compare them one by one
    assert got.evidence == {"segment": 6, "committed": "aa" * 32, "recomputed": "bb" * 32}
    assert got.segments == ["init", "5", "final"]
    assert got.result == seat().result
    assert (got.approve, got.cpu_s, got.votes, got.seats, got.tries) == (False, 12.25, [VOTE], [0, 2], 2)
    assert isinstance(got.phase, Phase) and got.phase is Phase.VOTED


@pytest.mark.parametrize("approve", [True, False, None])
def test_a_verdict_of_each_kind_round_trips(store: VerificationStore, approve: bool | None) -> None:
    store.put(seat(approve=approve, cpu_s=None, evidence=None))
    got = store.get(7, 1)
    assert got is not None and got.approve is approve and got.cpu_s is None and got.evidence is None


def test_an_unknown_seat_is_none(store: VerificationStore) -> None:
    store.put(seat())
    assert store.get(7, 2) is None
    assert store.get(8, 1) is None


def test_put_stamps_the_time(store: VerificationStore) -> None:
    before = time.time()
    written = store.put(seat())
    assert before <= written.updated_at <= time.time()
    got = store.get(7, 1)
    assert got is not None and got.updated_at == written.updated_at


def test_records_survive_reopening(path: Path) -> None:
    """A restarted node finds the verdict it had reached, with the phase that says what to do next."""
    first = VerificationStore(path)
    first.put(seat(phase=Phase.VOTING, approve=True, evidence={"segment": 3}, tries=1))
    first.put(seat(job_id=8, phase=Phase.PENDING))
    first.close()

    again = VerificationStore(path)
    try:
        voting = again.records([Phase.VOTING])
        assert [(r.job_id, r.attempt, r.approve, r.tries) for r in voting] == [(7, 1, True, 1)]
        assert voting[0].evidence == {"segment": 3}
        assert [r.job_id for r in again.records([Phase.PENDING])] == [8]
    finally:
        again.close()


def test_a_write_survives_a_process_that_dies_without_closing(path: Path) -> None:
    """Every put is committed at once: a node killed right after writing `voting` leaves it on disk."""
    script = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from validator.state import Phase, Verification, VerificationStore
        store = VerificationStore(Path({str(path)!r}))
        store.put(Verification(job_id=3, attempt=2, phase=Phase.VOTING, approve=False, reason="bad"))
        os._exit(0)  # no close, no interpreter shutdown
        """
    )
    subprocess.run([sys.executable, "-c", script], cwd=REPO, check=True, timeout=60)
    reopened = VerificationStore(path)
    try:
        got = reopened.get(3, 2)
        assert got is not None and (got.phase, got.approve, got.reason) == (Phase.VOTING, False, "bad")
    finally:
        reopened.close()


def test_phase_transitions_replace_the_seats_row(store: VerificationStore) -> None:
    """The daemon's path: drawing -> pending (seats) -> voting (signed) -> voted (delivered) -> finalized
    (outcome); one row."""
    record = store.put(seat(phase=Phase.DRAWING, seats=[]))
    record = store.update(record, phase=Phase.PENDING, seats=[1])
    record = store.update(record, tries=record.tries + 1)
    record = store.update(record, phase=Phase.VOTING, approve=True, reason="4 checks matched", votes=[VOTE])
    assert [r.phase for r in store.records()] == [Phase.VOTING]
    record = store.update(record, phase=Phase.VOTED)
    record = store.update(record, phase=Phase.FINALIZED, outcome="accepted")
    rows = store.records()
    assert len(rows) == 1
    final = rows[0]
    assert (final.phase, final.approve, final.votes, final.seats, final.outcome, final.tries) == (
        Phase.FINALIZED,
        True,
        [VOTE],
        [1],
        "accepted",
        1,
    )
    assert final.reason == "4 checks matched"  # fields not changed are kept


def test_update_returns_what_it_stored(store: VerificationStore) -> None:
    record = store.put(seat())
    updated = store.update(record, phase=Phase.ABSTAINED, reason="window closed")
    assert updated == store.get(7, 1)
    assert updated.phase is Phase.ABSTAINED and updated.seats == record.seats


def test_tries_count_across_updates_and_restarts(path: Path) -> None:
    store = VerificationStore(path)
    record = store.put(seat())
    for _ in range(3):
        record = store.update(record, tries=record.tries + 1)
    store.close()
    again = VerificationStore(path)
    try:
        got = again.get(7, 1)
        assert got is not None and got.tries == 3
        again.update(got, tries=got.tries + 1)
        refreshed = again.get(7, 1)
        assert refreshed is not None and refreshed.tries == 4
    finally:
        again.close()


def test_each_attempt_of_a_job_is_its_own_seat(store: VerificationStore) -> None:
    """A job that reopened after a rejection is submitted again: attempt 2 must not overwrite attempt 1."""
    store.put(seat(attempt=1, phase=Phase.FINALIZED, outcome="rejected"))
    store.put(seat(attempt=2, phase=Phase.PENDING))
    assert [(r.attempt, r.phase) for r in store.records()] == [(1, Phase.FINALIZED), (2, Phase.PENDING)]


def test_records_are_listed_by_phase_in_job_order(store: VerificationStore) -> None:
    phases = [Phase.VOTED, Phase.PENDING, Phase.ABSTAINED, Phase.PENDING, Phase.FINALIZED, Phase.VOTING]
    for job_id, phase in zip([50, 4, 12, 9, 1, 30], phases, strict=True):
        store.put(seat(job_id=job_id, phase=phase))
    assert [r.job_id for r in store.records()] == [1, 4, 9, 12, 30, 50]
    assert [r.job_id for r in store.records([Phase.PENDING])] == [4, 9]
    assert [r.job_id for r in store.records([Phase.VOTED, Phase.ABSTAINED])] == [12, 50]
    assert [r.job_id for r in store.records(OPEN_PHASES)] == [4, 9, 30, 50]
    assert store.records([]) == []
    assert store.records([Phase.FINALIZED])[0].job_id == 1


def test_open_phases_are_the_ones_the_daemon_still_acts_on() -> None:
    assert {Phase.DRAWING, Phase.PENDING, Phase.VOTING, Phase.VOTED} == OPEN_PHASES
    assert seat(phase=Phase.VOTED).open and not seat(phase=Phase.ABSTAINED).open
    assert not seat(phase=Phase.FINALIZED).open


def test_to_json_is_plain_json(store: VerificationStore) -> None:
    record = store.put(seat(phase=Phase.VOTED, approve=True, evidence={"segment": 1}, segments=["init"]))
    data = json.loads(json.dumps(record.to_json()))
    assert data["phase"] == "voted" and data["approve"] is True
    assert data["evidence"] == {"segment": 1} and data["result"]["count"] == 9
    assert set(data) >= {"job_id", "attempt", "seats", "last_block", "cpu_s", "votes", "outcome", "tries"}


def test_worker_threads_share_one_store(store: VerificationStore) -> None:
    """The daemon's verification workers write from their own threads."""

    def work(job_id: int) -> None:
        record = store.put(seat(job_id=job_id))
        for _ in range(20):
            record = store.update(record, tries=record.tries + 1)
        store.update(record, phase=Phase.VOTED)

    threads = [threading.Thread(target=work, args=(job_id,)) for job_id in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    rows = store.records([Phase.VOTED])
    assert [(r.job_id, r.tries) for r in rows] == [(job_id, 20) for job_id in range(8)]


def test_a_state_file_from_before_signed_votes_gains_their_columns(path: Path) -> None:
    """A file written when votes were transactions (a slot and a vote tx per row) opens and stores seats."""
    path.parent.mkdir(parents=True, exist_ok=True)
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE verifications (job_id INTEGER NOT NULL, attempt INTEGER NOT NULL, phase TEXT NOT NULL,"
        " slot INTEGER, submit_block INTEGER, last_block INTEGER, mode INTEGER, approve INTEGER, reason TEXT,"
        " evidence TEXT, segments TEXT, result TEXT, cpu_s REAL, vote_tx TEXT, outcome TEXT, tries INTEGER,"
        " updated_at REAL, PRIMARY KEY (job_id, attempt))"
    )
    old.execute("INSERT INTO verifications (job_id, attempt, phase, slot) VALUES (3, 0, 'finalized', 1)")
    old.commit()
    old.close()
    store = VerificationStore(path)
    try:
        (kept,) = store.records()
        assert (kept.job_id, kept.phase, kept.seats, kept.votes) == (3, Phase.FINALIZED, [], None)
        store.put(seat(votes=[VOTE]))
        assert store.get(7, 1) is not None and store.get(7, 1).votes == [VOTE]  # type: ignore[union-attr]
        store.delete(7, 1)
        assert store.get(7, 1) is None
    finally:
        store.close()


def test_a_state_file_from_before_appeals_opens_and_keeps_one_record_per_round(path: Path) -> None:
    """A file keyed by (job_id, attempt) alone is rebuilt keyed by round too: its rows become round 0, with
    every field kept, and an appeal round of the same submission is a record of its own."""
    path.parent.mkdir(parents=True, exist_ok=True)
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE verifications (job_id INTEGER NOT NULL, attempt INTEGER NOT NULL, phase TEXT NOT NULL,"
        " seats TEXT, submit_block INTEGER, last_block INTEGER, mode INTEGER, approve INTEGER, reason TEXT,"
        " evidence TEXT, segments TEXT, result TEXT, cpu_s REAL, votes TEXT, outcome TEXT, tries INTEGER,"
        " updated_at REAL, PRIMARY KEY (job_id, attempt))"
    )
    old.execute(
        "INSERT INTO verifications (job_id, attempt, phase, seats, submit_block, last_block, approve, reason,"
        " votes, tries) VALUES (7, 1, 'voted', '[0, 2]', 100, 121, 1, 'replayed', ?, 3)",
        (json.dumps([VOTE]),),
    )
    old.commit()
    old.close()
    store = VerificationStore(path)
    try:
        (kept,) = store.records()
        assert (kept.job_id, kept.attempt, kept.round, kept.phase) == (7, 1, 0, Phase.VOTED)
        assert (kept.seats, kept.approve, kept.reason, kept.votes, kept.tries) == (
            [0, 2],
            True,
            "replayed",
            [VOTE],
            3,
        )
        store.put(seat(round=1, phase=Phase.PENDING, submit_block=140))
        rounds = [(r.round, r.phase) for r in store.rounds(JobId(7), 1)]
        assert rounds == [(0, Phase.VOTED), (1, Phase.PENDING)]
        assert store.get(7, 1, 1) is not None and store.get(7, 1).phase is Phase.VOTED  # type: ignore[union-attr]
        store.delete(7, 1, 1)
        assert [r.round for r in store.records()] == [0]
    finally:
        store.close()
    reopened = VerificationStore(path)  # opening it again changes nothing
    try:
        assert [(r.job_id, r.round, r.tries) for r in reopened.records()] == [(7, 0, 3)]
    finally:
        reopened.close()


def test_each_round_of_a_submission_is_its_own_record(store: VerificationStore) -> None:
    store.put(seat(phase=Phase.VOTED, approve=False))
    store.put(seat(round=1, phase=Phase.PENDING))
    store.put(seat(round=2, phase=Phase.DRAWING))
    assert [(r.round, r.phase) for r in store.records()] == [
        (0, Phase.VOTED),
        (1, Phase.PENDING),
        (2, Phase.DRAWING),
    ]
    again = store.get(7, 1, 1)
    assert again is not None and (again.key, again.phase) == ((7, 1, 1), Phase.PENDING)
