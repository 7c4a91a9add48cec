"""Providers, validators and the market's totals."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.models.jobs import Amount, JobPublic
from api.models.reports import EnergyReportPublic, EnergyTotalsPublic


class ProviderPublic(BaseModel):
    address: str
    gpu_count: int
    gpu_memory_mib: int
    gpu_class: int
    cpu_cores: int
    memory_mib: int
    price_per_hour: Amount
    metadata_digest: str
    stake: Amount
    locked: Amount
    unbonding: Amount
    completed_jobs: int
    failed_jobs: int
    earnings: Amount
    rewards: Amount
    slashed: Amount
    registered_block: int


class ProvidersPublic(BaseModel):
    data: list[ProviderPublic]
    count: int


class ProviderDetailPublic(ProviderPublic):
    recent_jobs: list[JobPublic]
    energy: list[EnergyReportPublic] = Field(
        description="the energy records of its latest jobs, newest first, as the provider reported them"
    )
    energy_totals: EnergyTotalsPublic


class ValidatorPublic(BaseModel):
    address: str
    leaf: int = Field(description="its leaf in the roster (a leaf freed by a validator that left is reused)")
    weight: Amount = Field(description="its roster weight: the bonded stake it is drawn by (0: it left)")
    live: bool = Field(description="on the roster now, so it can be drawn onto committees")
    stake: Amount
    unbonding: Amount
    votes: int
    approvals: int
    earnings: Amount
    slashed: Amount
    registered_block: int


class ValidatorsPublic(BaseModel):
    data: list[ValidatorPublic]
    count: int


class StatsPublic(BaseModel):
    jobs: int
    jobs_by_state: dict[str, int]
    providers: int
    validators: int
    votes: int
    budget_posted: Amount
    paid_to_providers: Amount
    rewards_to_providers: Amount
    slashed: Amount
    events_indexed: int
    last_block: int | None
    energy: EnergyTotalsPublic = Field(
        description="energy and carbon of the jobs, as providers reported them"
    )
