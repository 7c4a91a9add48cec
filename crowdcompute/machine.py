"""The machine's background while a bench phase runs, so every figure says what it shared the CPU with.

`measured(phase)` runs `phase` and records the 1-minute load average before and after it and the cores the
whole machine kept busy meanwhile (every process, from /proc/stat: idle and iowait excluded).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["Background", "busy_cpu_s", "measured"]

T = TypeVar("T")


def busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy since boot (all CPUs, idle and iowait excluded)."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Background:
    wall_s: float
    load_avg_1m_before: float
    load_avg_1m_after: float
    busy_cores: float

    def to_json(self) -> dict[str, float]:
        """The figures a bench records beside its own (wall time apart)."""
        return {
            "load_avg_1m_before": round(self.load_avg_1m_before, 2),
            "load_avg_1m_after": round(self.load_avg_1m_after, 2),
            "busy_cores": round(self.busy_cores, 2),
        }


def measured(phase: Callable[[], T]) -> tuple[T, Background]:
    """Run `phase`; its value, and the machine's background while it ran."""
    load_before, busy_before, began = os.getloadavg()[0], busy_cpu_s(), time.monotonic()
    value = phase()
    wall = time.monotonic() - began
    busy = (busy_cpu_s() - busy_before) / wall if wall > 0 else 0.0
    return value, Background(wall, load_before, os.getloadavg()[0], busy)
