"""CPU time and peak memory of a running container, from its cgroup.

The cgroup vanishes with the container, so usage is sampled while it runs and the last sample stands.
Where the engine runs on this host and its cgroup files are visible, they are read directly at every
poll (cheap, so the figure is at most one poll interval behind). Otherwise the engine's stats API is
asked from a thread of its own, since a one-shot stats call blocks for up to a second on engine 20.10.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import docker.errors

logger = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")


class UsageSampler:
    """Keeps the latest CPU nanoseconds and the largest memory figure seen for one container."""

    def __init__(self, container: Any, *, cgroup_root: Path = CGROUP_ROOT) -> None:
        self.cpu_ns: int | None = None
        self.peak_memory: int | None = None
        self._container = container
        self._stop = threading.Event()
        self._files = _cgroup_files(container, cgroup_root)
        self._thread: threading.Thread | None = None
        if self._files is None:
            self._thread = threading.Thread(target=self._poll_stats_api, name="stats", daemon=True)
            self._thread.start()

    @property
    def source(self) -> str:
        return "cgroup" if self._files is not None else "stats-api"

    def sample(self) -> None:
        """Read the cgroup files now (a no-op when the stats thread does the sampling)."""
        if self._files is None:
            return
        cpu_file, memory_file = self._files
        cpu = _read_cpu_ns(cpu_file)
        if cpu is not None:
            self.cpu_ns = max(self.cpu_ns or 0, cpu)
        memory = _read_int(memory_file) if memory_file is not None else None
        if memory:
            self.peak_memory = max(self.peak_memory or 0, memory)

    def stop(self) -> None:
        self._stop.set()

    def _poll_stats_api(self) -> None:
        while not self._stop.is_set():
            try:
                stats = self._container.stats(stream=False, one_shot=True)
            except (docker.errors.APIError, OSError):
                return  # gone or unreachable: the monitor deals with that
            cpu = (stats.get("cpu_stats") or {}).get("cpu_usage", {}).get("total_usage")
            if cpu:
                self.cpu_ns = max(self.cpu_ns or 0, int(cpu))
            memory = stats.get("memory_stats") or {}
            peak = memory.get("max_usage") or memory.get("usage")  # max_usage: cgroup v1 only
            if peak:
                self.peak_memory = max(self.peak_memory or 0, int(peak))
            self._stop.wait(0.2)


def _cgroup_files(container: Any, root: Path) -> tuple[Path, Path | None] | None:
    """(CPU usage file, peak memory file) of the container's cgroup, if this host shows them."""
    container_id = container.id
    parent = ((container.attrs.get("HostConfig") or {}).get("CgroupParent") or "").strip("/")
    v1_names = [
        f"{parent or 'docker'}/{container_id}",
        f"{parent or 'system.slice'}/docker-{container_id}.scope",
    ]
    for name in v1_names:
        for cpu_mount in ("cpuacct", "cpu,cpuacct"):
            cpu = root / cpu_mount / name / "cpuacct.usage"
            if cpu.exists():
                memory = root / "memory" / name / "memory.max_usage_in_bytes"
                return cpu, memory if memory.exists() else None
        unified = root / name / "cpu.stat"
        if unified.exists():
            peak = root / name / "memory.peak"  # kernels >= 5.19
            return unified, peak if peak.exists() else None
    return None


def _read_cpu_ns(path: Path) -> int | None:
    try:
        text = path.read_text()
    except OSError:
        return None
    if path.name == "cpuacct.usage":
        return int(text.strip())
    for line in text.splitlines():  # cgroup v2 cpu.stat
        if line.startswith("usage_usec "):
            return int(line.split()[1]) * 1000
    return None


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None
