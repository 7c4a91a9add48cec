"""Where a load run's CPU goes: the CPU seconds each kind of process of the stack has used so far.

Read from /proc/<pid>/stat (user + system time, the reaped children's included), so the bench can say
which process eats the machine: anvil, the gateway, the providers, the validators, or the bench itself.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

from crowdcompute.demo.stack import DemoStack

__all__ = ["pid_cpu_s", "process_cpu_s"]


def pid_cpu_s(pid: int) -> float:
    """CPU seconds `pid` has used (0.0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    # After the command: state(0) ... utime(11) stime(12) cutime(13) cstime(14), in clock ticks.
    ticks = sum(int(value) for value in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def process_cpu_s(stack: DemoStack) -> dict[str, float]:
    """CPU seconds per kind: anvil, gateway, providers, validators (each kind summed) and bench."""
    totals = {"anvil": 0.0, "gateway": 0.0, "providers": 0.0, "validators": 0.0}
    for name, pid in stack.supervisor.extra_pids.items():
        if name == "anvil":
            totals["anvil"] += pid_cpu_s(pid)
    for child in stack.supervisor.children:
        kind = child.name.split("-", 1)[0]
        key = {"provider": "providers", "validator": "validators", "gateway": "gateway"}.get(kind)
        if key is not None:
            totals[key] += pid_cpu_s(child.pid)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    totals["bench"] = usage.ru_utime + usage.ru_stime
    return totals
