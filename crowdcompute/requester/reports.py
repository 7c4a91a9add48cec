"""What providers reported about a job, through the gateway: why they skip it, and the energy it used.

Reports are the providers' own claims (signed, but not verified by the market), and only a gateway holds
them: without one, `job status` shows the chain's view alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chain import JobId
from cli_support import short_address
from crowdcompute.requester.errors import GatewayRefused, GatewayUnreachable, RequesterError
from crowdcompute.requester.gateway import GatewayClient

__all__ = ["ProviderReports", "read_reports", "report_lines"]


@dataclass(frozen=True)
class ProviderReports:
    """`GET /jobs/{id}` `reports`, or why they could not be read (`unavailable`)."""

    summary: str | None = None
    skips: list[dict[str, Any]] = field(default_factory=list)
    energy: list[dict[str, Any]] = field(default_factory=list)
    unavailable: str | None = None

    def to_json(self) -> dict[str, Any] | None:
        if self.unavailable is not None:
            return None
        return {"summary": self.summary, "skips": self.skips, "energy": self.energy}


def read_reports(gateway_url: str, job_id: JobId, market: str) -> ProviderReports:
    """The providers' reports on `job_id` of the market at address `market`; never raises (a missing
    gateway, or one that follows another market, is said in `unavailable`)."""
    try:
        with GatewayClient(gateway_url, timeout_s=5.0) as gateway:
            follows = gateway.market_address()
            if follows is None or follows.lower() != market.lower():
                return ProviderReports(
                    unavailable=f"the gateway at {gateway_url} follows another market ({follows or 'none'})"
                )
            payload = gateway.job_reports(job_id)
    except GatewayUnreachable:
        return ProviderReports(unavailable=f"no gateway answers at {gateway_url}")
    except GatewayRefused as exc:
        if exc.status == 404:
            return ProviderReports(
                unavailable=f"the gateway at {gateway_url} has not indexed job {job_id} yet"
            )
        return ProviderReports(unavailable=str(exc))
    except RequesterError as exc:
        return ProviderReports(unavailable=str(exc))
    return ProviderReports(
        summary=payload.get("summary"),
        skips=list(payload.get("skips") or []),
        energy=list(payload.get("energy") or []),
    )


def _energy_line(record: dict[str, Any]) -> str:
    how = "measured" if record.get("measured") else "estimated"
    return (
        f"{float(record['kwh']):.4g} kWh, {float(record['gco2e']):.4g} gCO2e ({how}: {record['method']}, "
        f"grid {float(record['grid_gco2e_per_kwh']):g} gCO2e/kWh), reported by provider "
        f"{short_address(record['provider'])}"
    )


def report_lines(reports: ProviderReports) -> list[str]:
    """`job status` lines: the skip summary with each provider's reason, then the energy records."""
    if reports.unavailable is not None:
        return [f"  reports    none read: {reports.unavailable}"]
    lines = []
    if reports.summary:
        lines.append(f"  skipped    {reports.summary}")
        lines += [f"    {short_address(s['provider'])}  {s['reason']}" for s in reports.skips]
    lines += [f"  energy     {_energy_line(record)}" for record in reports.energy]
    return lines
