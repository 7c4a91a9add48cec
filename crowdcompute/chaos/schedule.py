"""The seeded fault schedule: the same seed gives the same faults, at the same offsets, on the same targets.

`fault_schedule(seed, ...)` draws, from `random.Random(seed)` alone, a fault every 5-15 s (configurable)
until `faults_s` seconds into the run. The kinds rotate through a shuffled deck, so every kind occurs
once before any occurs twice, and a short schedule still has each kind at least once.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["FAULT_KINDS", "Fault", "FaultKind", "fault_schedule"]

FaultKind = Literal["kill_provider", "kill_validator", "kill_gateway", "cut_rpc", "stall_store", "fill_disk"]
FAULT_KINDS: tuple[FaultKind, ...] = (
    "kill_provider",
    "kill_validator",
    "kill_gateway",
    "cut_rpc",
    "stall_store",
    "fill_disk",
)
# How long a fault lasts: a killed process stays down, the RPC link stays cut, the store stays stalled,
# a disk stays full for a duration drawn from these bounds (seconds).
_DURATION_S: dict[FaultKind, tuple[float, float]] = {
    "kill_provider": (0.5, 3.0),
    "kill_validator": (0.5, 3.0),
    "kill_gateway": (0.5, 3.0),
    "cut_rpc": (2.0, 10.0),
    "stall_store": (2.0, 6.0),
    "fill_disk": (3.0, 8.0),
}


@dataclass(frozen=True)
class Fault:
    at_s: float  # seconds after the first job is posted
    kind: FaultKind
    target: int  # 0-based index of the provider or validator it hits (0 for the others)
    duration_s: float

    def describe(self) -> str:
        where = (
            f" #{self.target + 1}" if self.kind in ("kill_provider", "kill_validator", "fill_disk") else ""
        )
        return f"t+{self.at_s:5.1f}s {self.kind}{where} for {self.duration_s:.1f}s"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def fault_schedule(
    seed: int,
    *,
    faults_s: float,
    providers: int,
    validators: int,
    gap_s: tuple[float, float] = (5.0, 15.0),
    kinds: tuple[FaultKind, ...] = FAULT_KINDS,
    start_s: float = 3.0,
) -> list[Fault]:
    """Faults from `start_s` to `faults_s` seconds, one every `gap_s` (see the module docstring)."""
    if providers < 1 or validators < 1:
        raise ValueError("a fault schedule needs at least one provider and one validator to hit")
    if not kinds:
        raise ValueError("no fault kinds to draw from")
    rng = random.Random(seed)
    faults: list[Fault] = []
    deck: list[FaultKind] = []
    at = start_s
    while at < faults_s:
        if not deck:
            deck = list(kinds)
            rng.shuffle(deck)
        kind = deck.pop()
        low, high = _DURATION_S[kind]
        bound = providers if kind in ("kill_provider", "fill_disk") else validators
        target = rng.randrange(bound) if kind in ("kill_provider", "kill_validator", "fill_disk") else 0
        faults.append(Fault(round(at, 2), kind, target, round(rng.uniform(low, high), 2)))
        at += rng.uniform(*gap_s)
    return faults
