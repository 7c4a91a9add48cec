"""Provider reports: a registered provider says why it skips an open job, or what energy a job it ran used.

One latest report of each type per (job, provider) is kept: a provider that skips a job for another
reason replaces its earlier one, and an energy record sent twice is stored once. Reports are the
providers' own claims; every read labels them so (`reported_by`).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Mapping

from api.db import Connection, Row
from api.errors import ForbiddenError, NotFoundError
from api.gateway import Gateway
from api.models.reports import (
    EnergyReportCreate,
    EnergyReportPublic,
    EnergyTotalsPublic,
    JobReportsPublic,
    ProviderReportCreate,
    ReportAccepted,
    SkipReportCreate,
    SkipReportPublic,
)
from chain import JobId

__all__ = [
    "energy_totals",
    "job_reports",
    "provider_energy",
    "skip_summary",
    "store_report",
]

_ENERGY_COLUMNS = "job_id, provider, kwh, gco2e, method, measured, grid_gco2e_per_kwh, seconds, reported_at"


def store_report(
    gateway: Gateway,
    job_id: JobId,
    report: ProviderReportCreate,
    body: bytes,
    headers: Mapping[str, str],
    ip: str,
) -> ReportAccepted:
    """Authenticate a report (a registered provider's signature; energy only from the job's provider),
    limit its rate per address, and store it."""
    caller = gateway.auth.authenticate_provider_report(job_id, body, headers, ip)
    if caller.address is None:
        raise ForbiddenError(
            "provider reports need a provider's signature (or an API key bound to its address); "
            "this API key is bound to no address"
        )
    address = caller.address
    gateway.report_limiter.check(address)
    conn = gateway.db.connection()
    job_provider = _indexed_provider(conn, job_id)
    if conn.execute("SELECT 1 FROM providers WHERE address = ?", (address,)).fetchone() is None:
        raise ForbiddenError(
            f"{address} is not a registered provider (as this gateway's index has it): only providers "
            "report on jobs; register with `crowdcompute provider register`, or wait for the index"
        )
    content = report.root
    if isinstance(content, EnergyReportCreate) and not _ran(conn, job_id, address, job_provider):
        raise ForbiddenError(
            f"job {job_id}'s energy can only be reported by a provider that claimed it; {address} never did"
        )
    changed = _store(gateway, job_id, address, content)
    return ReportAccepted(job_id=job_id, provider=address, type=content.type, changed=changed)


def _indexed_provider(conn: Connection, job_id: JobId) -> str | None:
    # Not `queries.get_job_state`: queries reads the reports of this module.
    row = conn.execute("SELECT provider FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"job {job_id} is not in the index (not posted, or not indexed yet)")
    provider: str | None = row["provider"]
    return provider


def _ran(conn: Connection, job_id: JobId, address: str, job_provider: str | None) -> bool:
    if job_provider == address:
        return True
    claims = conn.execute(
        "SELECT args FROM events WHERE job_id = ? AND event = 'JobClaimed'", (job_id,)
    ).fetchall()
    return any(str(json.loads(row["args"]).get("provider", "")).lower() == address for row in claims)


def _store(
    gateway: Gateway, job_id: JobId, address: str, report: SkipReportCreate | EnergyReportCreate
) -> bool:
    now = time.time()
    with gateway.db.write() as conn:
        if isinstance(report, SkipReportCreate):
            old = conn.execute(
                "SELECT kind, reason FROM skip_reports WHERE job_id = ? AND provider = ?", (job_id, address)
            ).fetchone()
            if old is not None and (old["kind"], old["reason"]) == (report.kind, report.reason):
                return False
            conn.execute(
                "INSERT OR REPLACE INTO skip_reports (job_id, provider, kind, reason, reported_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (job_id, address, report.kind, report.reason, now),
            )
            return True
        values = (
            report.kwh,
            report.gco2e,
            report.method,
            int(report.measured),
            report.grid_gco2e_per_kwh,
            report.seconds,
        )
        old = conn.execute(
            "SELECT kwh, gco2e, method, measured, grid_gco2e_per_kwh, seconds FROM energy_reports"
            " WHERE job_id = ? AND provider = ?",
            (job_id, address),
        ).fetchone()
        if old is not None and tuple(old) == values:
            return False
        conn.execute(
            f"INSERT OR REPLACE INTO energy_reports ({_ENERGY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (job_id, address, *values, now),
        )
        return True


# -- reads (inside the caller's read transaction) ----------------------------------------------------


def skip_summary(skips: list[SkipReportPublic]) -> str | None:
    """`3 providers saw it and skipped it: 2 image not present; 1 busy` (None when none skipped it)."""
    if not skips:
        return None
    counts = Counter(skip.kind for skip in skips)
    groups = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    who = "1 provider" if len(skips) == 1 else f"{len(skips)} providers"
    if len(skips) == 1:
        return f"{who} saw it and skipped it: {skips[0].kind}"
    return f"{who} saw it and skipped it: " + "; ".join(f"{count} {kind}" for kind, count in groups)


def _energy(row: Row) -> EnergyReportPublic:
    return EnergyReportPublic.model_validate({**dict(row), "measured": bool(row["measured"])})


def job_reports(conn: Connection, job_id: JobId, job_provider: str | None) -> JobReportsPublic:
    """The job's skip reports (but the one of the provider that now holds it) and its energy records."""
    rows = conn.execute(
        "SELECT provider, kind, reason, reported_at FROM skip_reports WHERE job_id = ?"
        " ORDER BY reported_at, provider",
        (job_id,),
    ).fetchall()
    skips = [SkipReportPublic.model_validate(dict(r)) for r in rows if r["provider"] != job_provider]
    energy = conn.execute(
        f"SELECT {_ENERGY_COLUMNS} FROM energy_reports WHERE job_id = ? ORDER BY reported_at", (job_id,)
    ).fetchall()
    return JobReportsPublic(summary=skip_summary(skips), skips=skips, energy=[_energy(r) for r in energy])


def _totals(conn: Connection, where: str = "", params: tuple[str, ...] = ()) -> EnergyTotalsPublic:
    row = conn.execute(
        "SELECT COALESCE(SUM(kwh), 0), COALESCE(SUM(gco2e), 0), COUNT(DISTINCT job_id) FROM energy_reports"
        + where,
        params,
    ).fetchone()
    estimated = conn.execute(
        "SELECT COUNT(DISTINCT job_id) FROM energy_reports"
        + (where + " AND" if where else " WHERE")
        + " measured = 0",
        params,
    ).fetchone()[0]
    return EnergyTotalsPublic(
        kwh=float(row[0]), gco2e=float(row[1]), jobs=int(row[2]), measured_jobs=int(row[2]) - int(estimated)
    )


def energy_totals(conn: Connection) -> EnergyTotalsPublic:
    """Every energy record the gateway holds, summed."""
    return _totals(conn)


def provider_energy(
    conn: Connection, address: str, *, recent: int = 20
) -> tuple[list[EnergyReportPublic], EnergyTotalsPublic]:
    """A provider's latest energy records (newest job first) and the totals over all of them."""
    rows = conn.execute(
        f"SELECT {_ENERGY_COLUMNS} FROM energy_reports WHERE provider = ? ORDER BY job_id DESC LIMIT ?",
        (address.lower(), recent),
    ).fetchall()
    return [_energy(r) for r in rows], _totals(conn, " WHERE provider = ?", (address.lower(),))
