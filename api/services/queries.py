"""Reads of the index: jobs, providers, validators, stats."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter

from api.db import Connection, Row
from api.errors import NotFoundError
from api.indexer.checkpoint import load_checkpoint
from api.models.accounts import (
    ProviderDetailPublic,
    ProviderPublic,
    ProvidersPublic,
    StatsPublic,
    ValidatorPublic,
    ValidatorsPublic,
)
from api.models.jobs import (
    AppealPublic,
    ChainEventPublic,
    JobDetailPublic,
    JobPublic,
    JobsPublic,
    VotePublic,
)
from api.services.reports import energy_totals, job_reports, provider_energy
from chain import JobId

_JOB_COLUMNS = ", ".join(["job_id AS id", *(name for name in JobPublic.model_fields if name != "id")])

_ACCOUNT_COLUMNS = (
    "COALESCE(a.stake, '0') AS stake, COALESCE(a.locked, '0') AS locked,"
    " COALESCE(a.unbonding, '0') AS unbonding,"
    " COALESCE(a.earnings, '0') AS earnings, COALESCE(a.rewards, '0') AS rewards,"
    " COALESCE(a.credited, '0') AS credited, COALESCE(a.slashed, '0') AS slashed"
)


_JOB_LIST = TypeAdapter(list[JobPublic])


def _job(row: Row) -> JobPublic:
    return JobPublic.model_validate(dict(row))


def _dicts(conn: Connection, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    """Rows as plain dicts (several times cheaper than `dict(Row)` on the hot list path)."""
    cursor = conn.cursor()
    cursor.row_factory = None
    cursor.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def list_jobs(
    conn: Connection,
    *,
    state: str | None = None,
    requester: str | None = None,
    provider: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> JobsPublic:
    where: list[str] = []
    params: list[Any] = []
    for column, value in (("state", state), ("requester", requester), ("provider", provider)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value.lower() if column != "state" else value)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    count: int = conn.execute(f"SELECT COUNT(*) FROM jobs{clause}", params).fetchone()[0]
    rows = _dicts(
        conn,
        f"SELECT {_JOB_COLUMNS} FROM jobs{clause} ORDER BY job_id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return JobsPublic(data=_JOB_LIST.validate_python(rows), count=count)


def get_job_state(conn: Connection, job_id: JobId) -> tuple[str, str | None]:
    """(state, provider) of an indexed job; `NotFoundError` when the index has never seen it."""
    row = conn.execute("SELECT state, provider FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"job {job_id} is not in the index (not posted, or not indexed yet)")
    return str(row["state"]), row["provider"]


def read_job(conn: Connection, job_id: JobId) -> JobDetailPublic:
    row = conn.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"job {job_id} is not in the index (not posted, or not indexed yet)")
    events = conn.execute(
        "SELECT event, block_number, log_index, tx_hash, timestamp, args FROM events WHERE job_id = ?"
        " ORDER BY block_number, log_index",
        (job_id,),
    ).fetchall()
    votes = conn.execute(
        "SELECT validator, slot, approve, segment, committed_digest, recomputed_digest, block_number, tx_hash"
        " FROM votes WHERE job_id = ? ORDER BY block_number, log_index",
        (job_id,),
    ).fetchall()
    appeals = conn.execute(
        "SELECT round, appellant, bond, attempt, roster_root, block_number, tx_hash FROM appeals"
        " WHERE job_id = ? ORDER BY block_number, log_index",
        (job_id,),
    ).fetchall()
    return JobDetailPublic(
        **_job(row).model_dump(),
        timeline=[ChainEventPublic(**{**dict(e), "args": json.loads(e["args"])}) for e in events],
        votes=[VotePublic.model_validate(dict(v)) for v in votes],
        appeals=[AppealPublic.model_validate(dict(a)) for a in appeals],
        reports=job_reports(conn, job_id, row["provider"]),
    )


_PROVIDER_SELECT = (
    "SELECT p.address, p.gpu_count, p.gpu_memory_mib, p.gpu_class, p.cpu_cores, p.memory_mib,"
    " p.price_per_hour,"
    " p.metadata_digest, p.completed_jobs, p.failed_jobs, p.registered_block, "
    + _ACCOUNT_COLUMNS
    + " FROM providers p LEFT JOIN accounts a ON a.address = p.address"
)


def list_providers(conn: Connection, *, limit: int = 50, offset: int = 0) -> ProvidersPublic:
    count: int = conn.execute("SELECT COUNT(*) FROM providers").fetchone()[0]
    rows = conn.execute(
        f"{_PROVIDER_SELECT} ORDER BY p.registered_block, p.address LIMIT ? OFFSET ?", (limit, offset)
    ).fetchall()
    return ProvidersPublic(data=[ProviderPublic.model_validate(dict(r)) for r in rows], count=count)


def read_provider(conn: Connection, address: str, *, recent: int = 20) -> ProviderDetailPublic:
    row = conn.execute(f"{_PROVIDER_SELECT} WHERE p.address = ?", (address.lower(),)).fetchone()
    if row is None:
        raise NotFoundError(f"provider {address} is not registered (or not indexed yet)")
    jobs = conn.execute(
        f"SELECT {_JOB_COLUMNS} FROM jobs WHERE provider = ? ORDER BY job_id DESC LIMIT ?",
        (address.lower(), recent),
    ).fetchall()
    energy, totals = provider_energy(conn, address, recent=recent)
    return ProviderDetailPublic(
        **dict(row), recent_jobs=[_job(j) for j in jobs], energy=energy, energy_totals=totals
    )


def list_validators(
    conn: Connection, *, limit: int = 50, offset: int = 0, include_left: bool = False
) -> ValidatorsPublic:
    """Live validators (on the roster, weight > 0) by leaf; with `include_left`, those that left too."""
    where = "" if include_left else " WHERE v.weight != '0'"
    count: int = conn.execute("SELECT COUNT(*) FROM validators v" + where).fetchone()[0]
    rows = conn.execute(
        "SELECT v.address, v.leaf, v.weight, v.weight != '0' AS live, v.votes, v.approvals,"
        " v.registered_block, COALESCE(a.stake, '0') AS stake, COALESCE(a.unbonding, '0') AS unbonding,"
        " COALESCE(a.credited, '0') AS earnings, COALESCE(a.slashed, '0') AS slashed"
        " FROM validators v LEFT JOIN accounts a ON a.address = v.address"
        + where
        + " ORDER BY v.weight = '0', v.leaf, v.address LIMIT ? OFFSET ?",
        (limit, offset),
    ).fetchall()
    return ValidatorsPublic(data=[ValidatorPublic.model_validate(dict(r)) for r in rows], count=count)


def read_stats(conn: Connection) -> StatsPublic:
    by_state = {r[0]: r[1] for r in conn.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state")}
    totals = {r[0]: r[1] for r in conn.execute("SELECT key, value FROM totals")}
    return StatsPublic(
        jobs=sum(by_state.values()),
        jobs_by_state=by_state,
        providers=conn.execute("SELECT COUNT(*) FROM providers").fetchone()[0],
        validators=conn.execute("SELECT COUNT(*) FROM validators WHERE weight != '0'").fetchone()[0],
        votes=int(totals.get("votes", 0)),
        budget_posted=totals.get("budget_posted", "0"),
        paid_to_providers=totals.get("paid_to_providers", "0"),
        rewards_to_providers=totals.get("rewards_to_providers", "0"),
        slashed=totals.get("slashed", "0"),
        events_indexed=int(totals.get("events", 0)),
        last_block=load_checkpoint(conn),
        energy=energy_totals(conn),
    )
