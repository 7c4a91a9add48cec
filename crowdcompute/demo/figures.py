"""The figures the demo prints for a finished job: gas, energy, verification cost.

* gas: every transaction of the job (post with its permit, claim, submit, finalize: the votes are signed
  off chain and revealed inside the finalize transaction), each counted once from its receipt, grouped
  by what it did;
* energy: what the provider metered for the run, from its own records (`<data-dir>/state.db`);
* verification cost: the CPU seconds each seat holder's re-execution took (its `state.db`; one replay per
  validator however many seats it holds) against the CPU seconds of the provider's run: the share of the
  work that checking it cost;
* committee: who held each seat (`committee_text`), drawn by stake from the job's roster snapshot.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chain import JobId, JobView, Rpc

__all__ = [
    "GasUse",
    "ProviderRun",
    "VerificationCost",
    "committee_text",
    "job_gas",
    "provider_run",
    "verification_cost",
]

# What a transaction did, named by the first of these events it emitted.
_KINDS = (
    ("JobFinalized", "finalize"),
    ("ResultSubmitted", "submit"),
    ("JobClaimed", "claim"),
    ("JobPosted", "post"),
    ("JobExpired", "expire"),
    ("JobCancelled", "cancel"),
)


@dataclass(frozen=True)
class GasUse:
    total: int
    by_kind: dict[str, int]
    transactions: int


def job_gas(rpc: Rpc, view: JobView, *, post_tx: str | None = None, post_gas: int | None = None) -> GasUse:
    """Gas of every transaction that touched the job. `post_gas` (the requester library's figure for
    the post, a permit included) replaces the post receipt's own gas when given."""
    names_by_tx: dict[str, set[str]] = {}
    for event in view.events:
        names_by_tx.setdefault(event.tx_hash.lower(), set()).add(event.name)
    by_kind: dict[str, int] = {}
    total = 0
    for tx_hash, names in names_by_tx.items():
        kind = next((label for name, label in _KINDS if name in names), "other")
        if post_tx is not None and post_gas is not None and tx_hash == post_tx.lower():
            gas = post_gas
        else:
            gas = _quantity((rpc.receipt(tx_hash) or {}).get("gasUsed", 0))
        by_kind[kind] = by_kind.get(kind, 0) + gas
        total += gas
    return GasUse(total, by_kind, len(names_by_tx))


def _quantity(value: Any) -> int:
    """A JSON-RPC quantity: a hex string from the raw API, or an int from web3's formatters."""
    return int(value, 16) if isinstance(value, str) else int(value)


@dataclass(frozen=True)
class ProviderRun:
    """The provider's record of its run: CPU seconds, wall seconds and metered energy."""

    cpu_s: float | None
    run_s: float | None
    energy: dict[str, Any] | None

    @property
    def kwh(self) -> float | None:
        return None if self.energy is None else self.energy.get("kwh")


def provider_run(data_dir: Path, job_id: JobId) -> ProviderRun | None:
    """The finished run of `job_id` from the provider's state file, or None when it has none."""
    from provider_node.state import StateStore

    path = data_dir / "state.db"
    if not path.is_file():
        return None
    store = StateStore(path)
    try:
        record = store.get(JobId(job_id))
    finally:
        store.close()
    if record is None or not record.result:
        return None
    execution = record.result.get("execution") or {}
    return ProviderRun(execution.get("cpu_seconds"), execution.get("duration_s"), record.result.get("energy"))


@dataclass(frozen=True)
class VerificationCost:
    """CPU seconds per validator (by name), and their sum against the provider's run."""

    cpu_s: dict[str, float] = field(default_factory=dict)
    verdicts: dict[str, str] = field(default_factory=dict)
    provider_cpu_s: float | None = None

    @property
    def total_cpu_s(self) -> float:
        return sum(self.cpu_s.values())

    @property
    def ratio(self) -> float | None:
        """All validators' re-execution CPU over the provider's: 0.3 means checking cost 30% of the work."""
        if not self.provider_cpu_s or not self.cpu_s:
            return None
        return self.total_cpu_s / self.provider_cpu_s


def verification_cost(
    validators: Iterable[tuple[str, Path]], job_id: JobId, provider_cpu_s: float | None
) -> VerificationCost:
    """Each validator's CPU for `job_id` (its latest attempt) from its state file."""
    from validator.state import VerificationStore

    cpu: dict[str, float] = {}
    verdicts: dict[str, str] = {}
    for name, data_dir in validators:
        path = data_dir / "state.db"
        if not path.is_file():
            continue
        store = VerificationStore(path)
        try:
            records = [r for r in store.records() if r.job_id == job_id]
        finally:
            with contextlib.suppress(Exception):
                store.close()
        if not records:
            continue
        record = max(records, key=lambda r: r.attempt)
        if record.cpu_s is not None:
            cpu[name] = float(record.cpu_s)
        verdicts[name] = {True: "accept", False: "reject", None: "no vote"}[record.approve]
    return VerificationCost(cpu, verdicts, provider_cpu_s)


def committee_text(holders: Iterable[str]) -> str:
    """Seat holders as one line: each validator with the seats it held (draws are with replacement)."""
    seats: dict[str, list[int]] = {}
    for seat, holder in enumerate(holders):
        seats.setdefault(holder, []).append(seat)
    if not seats:
        return "not drawn"
    parts = [
        f"{holder} (seat{'s' if len(held) > 1 else ''} {', '.join(map(str, held))})"
        for holder, held in seats.items()
    ]
    return f"{sum(map(len, seats.values()))} seats drawn by stake: " + "; ".join(parts)
