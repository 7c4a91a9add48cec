"""`crowdcompute.machine`: what every bench records beside its figures (load before and after, busy cores)."""

from __future__ import annotations

import os
import time

from crowdcompute.machine import busy_cpu_s, measured


def _spin(seconds: float) -> str:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return "done"


def test_a_measured_phase_gives_its_value_its_wall_time_and_the_cores_it_kept_busy() -> None:
    before = busy_cpu_s()
    value, background = measured(lambda: _spin(0.3))
    assert value == "done"
    assert background.wall_s >= 0.3
    assert busy_cpu_s() >= before
    cores = os.cpu_count() or 1
    # This process spun one core the whole time: the machine was at least nearly one core busy.
    assert 0.5 <= background.busy_cores <= cores + 0.5
    assert set(background.to_json()) == {"load_avg_1m_before", "load_avg_1m_after", "busy_cores"}
    assert background.to_json()["busy_cores"] == round(background.busy_cores, 2)
