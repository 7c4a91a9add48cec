"""The indexer's projection of market events into rows, without a chain."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.db import Database
from api.db_postgres import PostgresDatabase
from api.errors import DatabaseUnusableError
from api.indexer.checkpoint import ensure_identity, load_checkpoint, save_checkpoint
from api.indexer.projection import project_batch
from api.migrations import MIGRATIONS
from api.services import queries
from chain import JobId
from tests.api.market_events import PROVIDER, REQUESTER, VALIDATORS, EventLog

INDEX_BACKENDS = ("sqlite", "postgresql")


@pytest.fixture
def db(tmp_path: Path, index_db_url: str | None) -> Iterator[Database]:
    opened = Database(tmp_path / "index.sqlite") if index_db_url is None else PostgresDatabase(index_db_url)
    yield opened
    opened.close()


def index(db: Database, log: EventLog) -> int:
    with db.write() as conn:
        applied = project_batch(
            conn, log.events, {e.block_number: 1_700_000_000 + e.block_number for e in log.events}
        )
        save_checkpoint(conn, log.block)
    return applied


def test_lifecycle_builds_job_provider_and_validator_rows(db: Database) -> None:
    log = EventLog()
    log.register_provider()
    for i in range(3):
        log.register_validator(i)
    log.full_lifecycle(1)
    index(db, log)
    conn = db.connection()

    job = queries.read_job(conn, 1)
    assert job.state == "Accepted" and job.outcome == "Accepted"
    assert job.requester == REQUESTER and job.provider == PROVIDER
    assert job.bundle_cid is not None and job.bundle_cid.startswith("bafkrei")
    assert job.result_cid is not None and job.checkpoint_count == 4
    assert job.budget == "100" and job.mode == "Segments" and job.accepts == 2
    assert [e.event for e in job.timeline] == [
        "JobPosted",
        "JobClaimed",
        "ResultSubmitted",
        "VoteCast",
        "BalanceCredited",
        "VoteCast",
        "BalanceCredited",
        "JobFinalized",
        "ProviderPaid",
    ]
    assert job.posted_at == 1_700_000_000 + job.posted_block
    assert [v.validator for v in job.votes] == VALIDATORS[:2] and all(v.approve for v in job.votes)

    provider = queries.read_provider(conn, PROVIDER)
    assert provider.completed_jobs == 1 and provider.failed_jobs == 0
    assert provider.earnings == "100" and provider.rewards == "10"
    assert provider.stake == "1000" and provider.locked == "0"
    assert provider.gpu_memory_mib == 8192 and [j.id for j in provider.recent_jobs] == [1]

    validators = queries.list_validators(conn)
    assert validators.count == 3
    assert [(v.votes, v.earnings) for v in validators.data] == [(1, "5"), (1, "5"), (0, "0")]

    stats = queries.read_stats(conn)
    assert stats.jobs == 1 and stats.jobs_by_state == {"Accepted": 1}
    assert stats.paid_to_providers == "100" and stats.votes == 2 and stats.last_block == log.block


def test_claim_locks_and_rejection_slashes_collateral(db: Database) -> None:
    log = EventLog()
    log.register_provider(stake=1000)
    log.post(1, collateral=30)
    log.post(2, collateral=40, reopen=True)
    log.claim(1)
    log.claim(2)
    index(db, log)
    assert queries.read_provider(db.connection(), PROVIDER).locked == "70"

    log2 = EventLog(first_block=log.block + 1)
    log2.submit(2)
    log2.reject(2, collateral=40)
    log2.reopen(2)
    index(db, log2)
    conn = db.connection()
    provider = queries.read_provider(conn, PROVIDER)
    assert (provider.stake, provider.locked, provider.slashed) == ("960", "30", "40")
    assert provider.failed_jobs == 1
    job = queries.read_job(conn, 2)
    assert job.state == "Open" and job.attempts == 1 and job.provider is None and job.result_cid is None
    assert [e.event for e in job.timeline][-3:] == ["JobFinalized", "StakeSlashed", "JobReopened"]


def test_an_unbacked_seat_is_on_the_timeline_but_not_a_vote(db: Database) -> None:
    log = EventLog()
    log.register_provider()
    log.post(1)
    log.claim(1)
    log.submit(1)
    log.vote(1, 0)
    unbacked = {"jobId": 1, "validator": "0x" + "33" * 20, "slot": 1, "bond": 500}
    log.emit("SeatUnbacked", unbacked, same_block=True)
    index(db, log)
    job = queries.read_job(db.connection(), 1)
    assert [e.event for e in job.timeline][-3:] == ["VoteCast", "BalanceCredited", "SeatUnbacked"]
    assert job.timeline[-1].args["bond"] == 500 and job.timeline[-1].args["slot"] == 1
    assert len(job.votes) == 1, "an unbacked seat did not vote"


def test_list_filters_and_pagination(db: Database) -> None:
    log = EventLog()
    log.register_provider()
    for job_id in range(1, 8):
        log.post(job_id)
    for job_id in (2, 4, 6):
        log.claim(job_id)
    log.cancel(7)
    index(db, log)
    conn = db.connection()

    page = queries.list_jobs(conn, limit=3, offset=0)
    assert page.count == 7 and [j.id for j in page.data] == [7, 6, 5]
    assert [j.id for j in queries.list_jobs(conn, limit=3, offset=6).data] == [1]
    claimed = queries.list_jobs(conn, state="Claimed")
    assert claimed.count == 3 and {j.id for j in claimed.data} == {2, 4, 6}
    assert queries.list_jobs(conn, provider=PROVIDER.upper().replace("0X", "0x")).count == 3
    assert queries.list_jobs(conn, requester=REQUESTER, state="Cancelled").count == 1
    assert queries.list_jobs(conn, requester="0x" + "99" * 20).count == 0


def test_applying_a_batch_twice_counts_nothing_twice(db: Database) -> None:
    log = EventLog()
    log.register_provider()
    log.full_lifecycle(1)
    assert index(db, log) == len(log.events)
    assert index(db, log) == 0
    conn = db.connection()
    assert queries.read_provider(conn, PROVIDER).earnings == "100"
    assert len(queries.read_job(conn, 1).timeline) == 9
    assert queries.read_stats(conn).events_indexed == len(log.events)


def test_a_failed_batch_leaves_neither_rows_nor_checkpoint(db: Database) -> None:
    log = EventLog()
    log.post(1)
    index(db, log)
    bad = EventLog(first_block=log.block + 1)
    bad.post(2)
    bad.emit("JobClaimed", {"jobId": 2})  # no provider: the handler fails mid-batch
    with pytest.raises(KeyError), db.write() as conn:
        project_batch(conn, bad.events, {})
        save_checkpoint(conn, bad.block)
    conn = db.connection()
    assert load_checkpoint(conn) == log.block
    assert queries.list_jobs(conn).count == 1


def test_a_new_market_drops_the_old_index(db: Database) -> None:
    log = EventLog()
    log.post(1)
    index(db, log)
    with db.write() as conn:
        assert not ensure_identity(conn, 31337, "0x" + "aa" * 20)
    with db.write() as conn:
        assert not ensure_identity(conn, 31337, "0x" + "aa" * 20)
        conn.execute(
            "INSERT INTO job_logs (job_id, seq, stream, text, received_at) VALUES (1, 0, 'stdout', 'x', 0)"
        )
        assert ensure_identity(conn, 31337, "0x" + "bb" * 20)
    conn = db.connection()
    assert queries.list_jobs(conn).count == 0 and load_checkpoint(conn) is None
    assert conn.execute("SELECT COUNT(*) FROM job_logs").fetchone()[0] == 0


def test_roster_weights_list_live_validators_with_leaf_and_weight(db: Database) -> None:
    log = EventLog()
    for i in range(3):
        log.register_validator(i, stake=100 * (i + 1))
    log.set_weight(1, 250)  # bonded more
    log.set_weight(2, 0)  # left the roster
    log.register_provider()
    log.post(1)
    log.claim(1)
    log.submit(1)
    index(db, log)
    conn = db.connection()

    live = queries.list_validators(conn)
    assert live.count == 2
    assert [(v.address, v.leaf, v.weight, v.live) for v in live.data] == [
        (VALIDATORS[0], 0, "100", True),
        (VALIDATORS[1], 1, "250", True),
    ]
    every = queries.list_validators(conn, include_left=True)
    assert every.count == 3 and (every.data[-1].address, every.data[-1].live) == (VALIDATORS[2], False)
    assert queries.read_stats(conn).validators == 2
    assert queries.read_job(conn, JobId(1)).roster_root == "0x" + log.roster.root.hex()


def test_a_claim_given_back_free_reopens_the_job_and_unlocks_the_collateral(db: Database) -> None:
    log = EventLog()
    log.register_provider(stake=1000)
    log.post(1, collateral=30, result_key=b"\x11" * 32)
    log.claim(1)
    log.release_claim(1)
    index(db, log)
    conn = db.connection()
    job = queries.read_job(conn, JobId(1))
    assert (job.state, job.provider, job.deadline, job.attempts) == ("Open", None, None, 0)
    provider = queries.read_provider(conn, PROVIDER)
    assert (provider.stake, provider.locked, provider.slashed) == ("1000", "0", "0")


def test_a_claim_given_back_after_a_key_burns_the_collateral_and_closes_or_reopens(db: Database) -> None:
    log = EventLog()
    log.register_provider(stake=1000)
    log.post(1, collateral=30, result_key=b"\x11" * 32)
    log.post(2, collateral=40, result_key=b"\x11" * 32, reopen=True)
    log.claim(1)
    log.claim(2)
    log.release_claim(1, burned=30)
    log.release_claim(2, burned=40)
    log.reopen(2)
    index(db, log)
    conn = db.connection()
    assert queries.read_job(conn, JobId(1)).state == "Released"
    reopened = queries.read_job(conn, JobId(2))
    assert (reopened.state, reopened.attempts, reopened.provider) == ("Open", 1, None)
    provider = queries.read_provider(conn, PROVIDER)
    assert (provider.stake, provider.locked, provider.slashed) == ("930", "0", "70")


def test_a_reopened_job_forgets_its_roster_snapshot(db: Database) -> None:
    log = EventLog()
    log.register_validator(0)
    log.register_provider()
    log.post(1, reopen=True)
    log.claim(1)
    log.submit(1)
    log.reject(1)
    log.reopen(1)
    index(db, log)
    job = queries.read_job(db.connection(), JobId(1))
    assert job.state == "Open" and job.roster_root is None and job.submit_block is None


def test_an_appeal_starts_the_next_round_from_its_block_and_roster(db: Database) -> None:
    log = EventLog()
    log.register_validator(0)
    log.register_provider()
    log.post(1, reopen=True)
    log.claim(1)
    log.submit(1)
    log.vote(1, 0, approve=False)
    log.register_validator(1)  # the roster changed since the submission: round 1 is drawn from the new one
    log.appeal(1, 1, appellant=PROVIDER, bond=31)
    appeal_block = log.block
    assert index(db, log) == len(log.events)
    assert index(db, log) == 0, "an appeal indexed twice counts once"
    job = queries.read_job(db.connection(), JobId(1))
    assert (job.state, job.round, job.submit_block) == ("Submitted", 1, appeal_block)
    assert job.roster_root == "0x" + log.roster.root.hex()
    [appeal] = job.appeals
    assert (appeal.round, appeal.appellant, appeal.bond, appeal.attempt) == (1, PROVIDER, "31", 0)
    assert appeal.block_number == appeal_block
    assert queries.list_jobs(db.connection()).data[0].round == 1

    log.reject(1)
    log.reopen(1)
    index(db, log)
    job = queries.read_job(db.connection(), JobId(1))
    assert (job.state, job.round, job.submit_block) == ("Open", 0, None)
    assert len(job.appeals) == 1, "the job's appeals stay on its page"


def test_votes_relayed_before_appeals_existed_become_round_0_votes(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    for script in MIGRATIONS[:4]:
        conn.executescript(script)
    conn.execute("PRAGMA user_version = 4")
    conn.execute("INSERT INTO seat_votes VALUES (1, 2, '0xab', '0xcd', '{}', 1.5)")
    conn.close()
    with Database(path).read() as migrated:
        rows = migrated.execute("SELECT job_id, round, seat, validator FROM seat_votes").fetchall()
        assert [tuple(row) for row in rows] == [(1, 0, 2, "0xab")]
        assert migrated.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_an_sqlite_index_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    Database(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(
        DatabaseUnusableError, match=f"{path} has schema version {len(MIGRATIONS) + 1}, newer"
    ):
        Database(path)
