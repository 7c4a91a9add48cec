"""The hardware probe: the no-GPU path for real on this machine, the NVML path through a fake module.

This machine has no GPU and no NVIDIA driver, so a probe with GPUs, a lost GPU or an old driver cannot
be produced here; those tests inject `fake_pynvml` as `pynvml`. Likewise the cgroup quota and limit
readers are tested on fake /proc and /sys trees under tmp_path, for both cgroup versions.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from provider_node.hardware import memory_limit_bytes, probe, probe_gpus, usable_cpu_cores
from tests.provider_node.fake_pynvml import FakeGpu, NVMLError_LibraryNotFound, make_module, nvml_present


def test_probe_of_this_machine(tmp_path: Path) -> None:
    profile = probe(tmp_path / "work" / "not-yet-created")
    affinity = len(os.sched_getaffinity(0))
    assert 0 < profile.cpu_cores <= affinity <= profile.cpu_count
    assert profile.memory_bytes > 64 * 1024**2
    assert profile.disk_free_bytes > 0
    data = json.loads(json.dumps(profile.to_dict()))
    assert data["cpu_cores"] == profile.cpu_cores
    if nvml_present():
        assert profile.gpu_count >= 1 and profile.gpu_driver_version
    else:  # this machine: a clean "no GPU", not an exception
        assert profile.gpus == () and profile.gpu_count == 0 and profile.gpu_memory_bytes == 0
        assert profile.gpu_error is not None and "NVML" in profile.gpu_error
        assert data["gpus"] == []


def test_gpus_through_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = make_module(
        [
            FakeGpu(),
            FakeGpu(name="NVIDIA A10G", uuid="GPU-2", memory_bytes=24 * 1024**3, capability=(8, 6)),
        ]
    )
    monkeypatch.setitem(__import__("sys").modules, "pynvml", fake)
    found = probe_gpus()
    assert found.error is None and found.driver_version == "550.54.15"
    assert [gpu.name for gpu in found.gpus] == ["NVIDIA H100 80GB HBM3", "NVIDIA A10G"]
    assert found.gpus[1].to_dict() == {
        "index": 1,
        "name": "NVIDIA A10G",
        "uuid": "GPU-2",
        "memory_bytes": 24 * 1024**3,
        "compute_capability": "8.6",
    }
    assert fake.state["shutdowns"] == 1
    profile = probe(Path("/"))
    assert profile.gpu_count == 2 and profile.gpu_memory_bytes == 24 * 1024**3


def test_missing_driver_means_no_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        __import__("sys").modules, "pynvml", make_module(init_error=NVMLError_LibraryNotFound)
    )
    found = probe_gpus()
    assert found.gpus == () and found.error == "no NVIDIA driver: the NVML library was not found"


def test_a_lost_gpu_is_left_out_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = make_module([FakeGpu(), FakeGpu(uuid="GPU-lost", lost=True)])
    monkeypatch.setitem(__import__("sys").modules, "pynvml", fake)
    found = probe_gpus()
    assert len(found.gpus) == 1
    assert found.error == "GPU 1: GPU is lost"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v1_cpu_quota_and_memory_limit(tmp_path: Path) -> None:
    write(tmp_path / "proc/self/cgroup", "5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n")
    write(tmp_path / "proc/meminfo", "MemTotal:       16384000 kB\nMemFree: 1 kB\n")
    cpu = tmp_path / "sys/fs/cgroup/cpu,cpuacct"
    write(cpu / "cpu.cfs_quota_us", "-1\n")
    write(cpu / "cpu.cfs_period_us", "100000\n")
    write(cpu / "docker/abc/cpu.cfs_quota_us", "150000\n")
    write(cpu / "docker/abc/cpu.cfs_period_us", "100000\n")
    memory = tmp_path / "sys/fs/cgroup/memory"
    write(memory / "memory.limit_in_bytes", "9223372036854771712\n")  # the root: unlimited
    write(memory / "docker/abc/memory.limit_in_bytes", str(2 * 1024**3))
    assert usable_cpu_cores(root=tmp_path) == min(len(os.sched_getaffinity(0)), 1.5)
    assert memory_limit_bytes(root=tmp_path) == 2 * 1024**3


def test_cgroup_v2_takes_the_tightest_ancestor(tmp_path: Path) -> None:
    write(tmp_path / "proc/self/cgroup", "0::/jobs.slice/node.scope\n")
    write(tmp_path / "proc/meminfo", "MemTotal:       1024000 kB\n")
    base = tmp_path / "sys/fs/cgroup"
    write(base / "cgroup.controllers", "cpu memory pids\n")
    write(base / "jobs.slice/cpu.max", "50000 100000\n")
    write(base / "jobs.slice/node.scope/cpu.max", "max 100000\n")
    write(base / "jobs.slice/memory.max", "max\n")
    write(base / "jobs.slice/node.scope/memory.max", str(8 * 1024**3))
    assert usable_cpu_cores(root=tmp_path) == 0.5
    assert memory_limit_bytes(root=tmp_path) == 1024000 * 1024  # the machine is smaller than the limit


def test_no_cgroup_limits_means_the_whole_machine(tmp_path: Path) -> None:
    write(tmp_path / "proc/self/cgroup", "0::/\n")
    write(tmp_path / "proc/meminfo", "MemTotal:       2048 kB\n")
    assert usable_cpu_cores(root=tmp_path) == len(os.sched_getaffinity(0))
    assert memory_limit_bytes(root=tmp_path) == 2048 * 1024
