"""Provider reports: why providers skip an open job, and the energy a job used, as each provider claims.

In: one report per request (`ProviderReportCreate`, signed `ProviderReport`, see `gateway_protocol`).
Out: the reports on a job (`JobDetailPublic`), a provider's energy records, and the totals in `/stats`.
Nothing here is verified by the market: every figure is labelled as reported by the provider.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from gateway_protocol import REPORT_KIND_MAX_CHARS, REPORT_REASON_MAX_CHARS

REPORTED_BY: Literal["provider"] = "provider"
"""Who vouches for a report: the provider that sent it, nobody else."""


class _Report(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SkipReportCreate(_Report):
    type: Literal["skip"]
    kind: str = Field(min_length=1, max_length=REPORT_KIND_MAX_CHARS)
    reason: str = Field(min_length=1, max_length=REPORT_REASON_MAX_CHARS)


class EnergyReportCreate(_Report):
    type: Literal["energy"]
    kwh: float = Field(ge=0, le=1e9, allow_inf_nan=False)
    gco2e: float = Field(ge=0, le=1e15, allow_inf_nan=False)
    method: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9+_-]+$")
    measured: bool
    grid_gco2e_per_kwh: float = Field(ge=0, le=10_000, allow_inf_nan=False)
    seconds: float | None = Field(default=None, ge=0, allow_inf_nan=False)


class ProviderReportCreate(
    RootModel[Annotated[SkipReportCreate | EnergyReportCreate, Field(discriminator="type")]]
):
    """One report: `{"type": "skip", ...}` or `{"type": "energy", ...}`."""


class ReportAccepted(BaseModel):
    job_id: int
    provider: str
    type: Literal["skip", "energy"]
    changed: bool = Field(description="false when the same report was already stored")


class SkipReportPublic(BaseModel):
    provider: str
    kind: str = Field(description="a short label reports are grouped by: `image not present`, `busy`, ...")
    reason: str = Field(description="the provider's own words")
    reported_at: float


class EnergyReportPublic(BaseModel):
    """A finished job's energy and carbon, as its provider measured or estimated them."""

    job_id: int
    provider: str
    kwh: float
    gco2e: float
    method: str = Field(description="how: `rapl`, `nvml`, `estimate`, or a combination such as `rapl+nvml`")
    measured: bool = Field(description="every figure from a hardware counter (RAPL, NVML), none estimated")
    grid_gco2e_per_kwh: float = Field(description="the grid intensity the provider applied")
    seconds: float | None
    reported_at: float
    reported_by: Literal["provider"] = Field(
        default=REPORTED_BY, description="the provider's own claim; the market does not verify it"
    )


class EnergyTotalsPublic(BaseModel):
    """Sums over the energy records providers reported (not verified by the market)."""

    kwh: float
    gco2e: float
    jobs: int = Field(description="jobs with at least one energy record")
    measured_jobs: int = Field(description="of those, jobs whose every record was measured, not estimated")
    reported_by: Literal["provider"] = REPORTED_BY


class JobReportsPublic(BaseModel):
    """What providers said about a job: who skipped it and why, and the energy it used."""

    summary: str | None = Field(
        description="e.g. `3 providers saw it and skipped it: 2 image not present; 1 busy` (null: no skips)"
    )
    skips: list[SkipReportPublic]
    energy: list[EnergyReportPublic]
