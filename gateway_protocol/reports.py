"""What a provider report carries: `POST /jobs/{jobId}/reports` with one report as its JSON body, signed as
a `ProviderReport` over these exact bytes (the gateway's models in `api.models.reports` validate it).

Two kinds: why the provider skips an open job (`skip`: the reason in words and its short kind, the
`SkipKind` labels of `jobs.matching`), and the energy a job it ran used (`energy`: kWh, gCO2e, how they
were obtained and the grid intensity the provider applied). Both are the provider's own claims.
"""

from __future__ import annotations

import json
from typing import Literal, TypedDict

from chain import JobId

__all__ = [
    "REPORT_KIND_MAX_CHARS",
    "REPORT_REASON_MAX_CHARS",
    "EnergyReportWire",
    "ProviderReportWire",
    "SkipReportWire",
    "report_body",
    "report_path",
]

REPORT_REASON_MAX_CHARS = 1000
"""The longest skip reason a gateway stores (longer ones are cut by the provider)."""
REPORT_KIND_MAX_CHARS = 64


class SkipReportWire(TypedDict):
    type: Literal["skip"]
    kind: str
    """A short label (`image not present`, `busy`, ...): reports are grouped by it."""
    reason: str
    """The sentence the provider logged."""


class EnergyReportWire(TypedDict):
    type: Literal["energy"]
    kwh: float
    gco2e: float
    method: str
    """How the figures were obtained: `rapl`, `nvml`, `estimate`, combined with `+` (`rapl+nvml`)."""
    measured: bool
    """Whether every figure came from a hardware counter (RAPL, NVML) rather than an estimate."""
    grid_gco2e_per_kwh: float
    """The grid intensity the provider applied to turn kWh into gCO2e."""
    seconds: float | None


ProviderReportWire = SkipReportWire | EnergyReportWire


def report_path(job_id: JobId) -> str:
    """The URL path a provider posts its reports on a job to."""
    return f"/jobs/{job_id}/reports"


def report_body(report: ProviderReportWire) -> bytes:
    """The request body of one report; its keccak256 is the `bodyHash` that the signature covers."""
    return json.dumps(report, separators=(",", ":"), sort_keys=True).encode()
