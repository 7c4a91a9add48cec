"""What this machine can offer: GPUs (through NVML), usable CPU cores, memory, and free disk.

Figures are what a job could really get, not what the hardware has: CPU cores are the fewer of the CPUs
this process may run on and its cgroup's CPU quota; memory is the smaller of the machine's and the
cgroup's limit. A machine without NVIDIA's driver is a normal case: no GPUs, with the reason in
`gpu_error`. `root` lets tests point /proc and /sys at a fake tree.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = [
    "GpuInfo",
    "GpuProbe",
    "HardwareProfile",
    "memory_limit_bytes",
    "probe",
    "probe_gpus",
    "usable_cpu_cores",
]

_UNLIMITED = 1 << 60  # cgroup v1 writes "no limit" as a page-rounded 2**63-1


@dataclass(frozen=True, slots=True)
class GpuInfo:
    index: int
    name: str
    uuid: str
    memory_bytes: int
    compute_capability: tuple[int, int] | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "uuid": self.uuid,
            "memory_bytes": self.memory_bytes,
            "compute_capability": (
                f"{self.compute_capability[0]}.{self.compute_capability[1]}"
                if self.compute_capability
                else None
            ),
        }


@dataclass(frozen=True, slots=True)
class GpuProbe:
    gpus: tuple[GpuInfo, ...]
    driver_version: str | None
    error: str | None  # why there are no (or fewer) GPUs; None when NVML answered for every device


@dataclass(frozen=True, slots=True)
class HardwareProfile:
    cpu_cores: float  # usable: min(affinity, cgroup quota)
    cpu_count: int  # logical CPUs the machine has online
    cpu_model: str | None
    memory_bytes: int  # usable: min(physical, cgroup limit)
    work_dir: str
    disk_free_bytes: int  # free space for the work dir's file system
    gpus: tuple[GpuInfo, ...]
    gpu_driver_version: str | None
    gpu_error: str | None

    @property
    def gpu_count(self) -> int:
        return len(self.gpus)

    @property
    def gpu_memory_bytes(self) -> int:
        """Memory of the smallest GPU: what a job asking for "GPU memory" can count on per device."""
        return min((gpu.memory_bytes for gpu in self.gpus), default=0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cpu_cores": self.cpu_cores,
            "cpu_count": self.cpu_count,
            "cpu_model": self.cpu_model,
            "memory_bytes": self.memory_bytes,
            "work_dir": self.work_dir,
            "disk_free_bytes": self.disk_free_bytes,
            "gpu_count": self.gpu_count,
            "gpu_memory_bytes": self.gpu_memory_bytes,
            "gpu_driver_version": self.gpu_driver_version,
            "gpu_error": self.gpu_error,
            "gpus": [gpu.to_dict() for gpu in self.gpus],
        }


def probe(work_dir: Path, *, root: Path = Path("/")) -> HardwareProfile:
    """Probe this machine; `work_dir` is where executions' inputs and outputs will live."""
    gpus = probe_gpus()
    return HardwareProfile(
        cpu_cores=usable_cpu_cores(root=root),
        cpu_count=os.cpu_count() or 1,
        cpu_model=_cpu_model(root),
        memory_bytes=memory_limit_bytes(root=root),
        work_dir=str(work_dir),
        disk_free_bytes=_disk_free(work_dir),
        gpus=gpus.gpus,
        gpu_driver_version=gpus.driver_version,
        gpu_error=gpus.error,
    )


def probe_gpus() -> GpuProbe:
    """GPUs through NVML (`nvidia-ml-py`, module `pynvml`); no driver means no GPUs, not an error."""
    try:
        import pynvml
    except ImportError:
        return GpuProbe((), None, "nvidia-ml-py (pynvml) is not installed")
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError_LibraryNotFound:
        return GpuProbe((), None, "no NVIDIA driver: the NVML library was not found")
    except pynvml.NVMLError as error:
        return GpuProbe((), None, f"NVML did not start: {error}")
    try:
        return _read_gpus(pynvml)
    finally:
        with contextlib.suppress(pynvml.NVMLError):
            pynvml.nvmlShutdown()


def _read_gpus(nvml: ModuleType) -> GpuProbe:
    try:
        driver: str | None = _text(nvml.nvmlSystemGetDriverVersion())
    except nvml.NVMLError:
        driver = None
    try:
        count = nvml.nvmlDeviceGetCount()
    except nvml.NVMLError as error:
        return GpuProbe((), driver, f"NVML could not count GPUs: {error}")
    gpus, problems = [], []
    for index in range(count):
        try:
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            name = _text(nvml.nvmlDeviceGetName(handle))
            uuid = _text(nvml.nvmlDeviceGetUUID(handle))
            memory = int(nvml.nvmlDeviceGetMemoryInfo(handle).total)
        except nvml.NVMLError as error:
            problems.append(f"GPU {index}: {error}")  # e.g. fallen off the bus: not offered
            continue
        try:
            major, minor = nvml.nvmlDeviceGetCudaComputeCapability(handle)
            capability: tuple[int, int] | None = (int(major), int(minor))
        except nvml.NVMLError:
            capability = None
        gpus.append(GpuInfo(index, name, uuid, memory, capability))
    return GpuProbe(tuple(gpus), driver, "; ".join(problems) or None)


def usable_cpu_cores(*, root: Path = Path("/")) -> float:
    """CPUs this process may use: its affinity mask, capped by any CPU quota of its cgroup or parents."""
    try:
        cores = float(len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        cores = float(os.cpu_count() or 1)
    quota = _cpu_quota(root)
    return min(cores, quota) if quota is not None else cores


def memory_limit_bytes(*, root: Path = Path("/")) -> int:
    """Physical memory, capped by the memory limit of this process's cgroup or its parents."""
    physical = _meminfo_total(root)
    limit = _memory_cgroup_limit(root)
    return min(physical, limit) if limit is not None else physical


# -- cgroups --------------------------------------------------------------------------------------


def _cgroup_paths(root: Path) -> dict[str, str]:
    """Controller -> this process's cgroup path ("" for the unified v2 hierarchy)."""
    paths: dict[str, str] = {}
    try:
        lines = (root / "proc/self/cgroup").read_text().splitlines()
    except OSError:
        return paths
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        controllers = parts[1].split(",") if parts[1] else [""]
        for controller in controllers:
            paths[controller] = parts[2]
    return paths


def _ancestors(base: Path, cgroup: str) -> list[Path]:
    """The cgroup's folder and every parent up to the hierarchy's root, innermost first."""
    parts = [p for p in cgroup.split("/") if p]
    return [base.joinpath(*parts[:depth]) for depth in range(len(parts), -1, -1)]


def _cpu_quota(root: Path) -> float | None:
    paths = _cgroup_paths(root)
    cgroup_fs = root / "sys/fs/cgroup"
    quotas: list[float] = []
    if "" in paths and (cgroup_fs / "cgroup.controllers").exists():  # v2
        for folder in _ancestors(cgroup_fs, paths[""]):
            text = _read(folder / "cpu.max")
            if text and not text.startswith("max"):
                quota, period = text.split()[:2]
                quotas.append(int(quota) / int(period))
    elif "cpu" in paths:  # v1
        for mount in ("cpu,cpuacct", "cpu"):
            base = cgroup_fs / mount
            if base.is_dir():
                for folder in _ancestors(base, paths["cpu"]):
                    quota_us = _read(folder / "cpu.cfs_quota_us")
                    period_us = _read(folder / "cpu.cfs_period_us")
                    if quota_us and period_us and int(quota_us) > 0:
                        quotas.append(int(quota_us) / int(period_us))
                break
    return min(quotas) if quotas else None


def _memory_cgroup_limit(root: Path) -> int | None:
    paths = _cgroup_paths(root)
    cgroup_fs = root / "sys/fs/cgroup"
    limits: list[int] = []
    if "" in paths and (cgroup_fs / "cgroup.controllers").exists():  # v2
        for folder in _ancestors(cgroup_fs, paths[""]):
            text = _read(folder / "memory.max")
            if text and text != "max":
                limits.append(int(text))
    elif "memory" in paths:  # v1
        for folder in _ancestors(cgroup_fs / "memory", paths["memory"]):
            text = _read(folder / "memory.limit_in_bytes")
            if text and int(text) < _UNLIMITED:
                limits.append(int(text))
    return min(limits) if limits else None


# -- small readers --------------------------------------------------------------------------------


def _meminfo_total(root: Path) -> int:
    for line in (_read(root / "proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _cpu_model(root: Path) -> str | None:
    for line in (_read(root / "proc/cpuinfo") or "").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return None


def _disk_free(work_dir: Path) -> int:
    folder = work_dir.absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # the work dir may not exist yet: its file system does
    return shutil.disk_usage(folder).free


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
