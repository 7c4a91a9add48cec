"""Energy per execution: the estimate for real on this machine, RAPL and NVML on fakes.

This machine exposes no /sys/class/powercap (a virtual machine) and has no GPU, so RAPL counters,
their wraparound and NVML's energy counter cannot be produced here: RAPL is tested on a fake sysfs
tree under tmp_path (with a fake /proc/stat for the CPU-time share), NVML through `fake_pynvml`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from provider_node.energy import CpuMethod, EnergyMeter, EnergySettings, GpuMethod
from tests.provider_node.fake_pynvml import FakeGpu, make_module

TICK = os.sysconf("SC_CLK_TCK")


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def proc_stat(path: Path, busy_ticks: int, idle_ticks: int = 10_000) -> None:
    """A /proc/stat whose machine-wide busy time is `busy_ticks` (user + system)."""
    user = busy_ticks // 2
    write(path, f"cpu  {user} 0 {busy_ticks - user} {idle_ticks} 7 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n")


def rapl_zone(root: Path, name: str, energy_uj: int, max_uj: int = 10_000_000) -> Path:
    zone = root / name
    write(zone / "energy_uj", f"{energy_uj}\n")
    write(zone / "max_energy_range_uj", f"{max_uj}\n")
    write(zone / "name", "package-0\n")
    return zone


def test_this_machine_without_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    meter = EnergyMeter()
    meter.start()
    record = meter.stop(cpu_seconds=5.0)
    assert record.gpu_method is GpuMethod.NONE and record.gpu_joules is None
    if Path("/sys/class/powercap/intel-rapl:0/energy_uj").exists():
        assert record.cpu_method in (CpuMethod.RAPL, CpuMethod.ESTIMATE)
    else:  # this machine: no powercap at all
        assert record.cpu_method is CpuMethod.ESTIMATE
        assert record.cpu_joules == pytest.approx(5.0 * EnergySettings().watts_per_core)
        assert record.method == "estimate"


def test_estimate_from_cpu_seconds(tmp_path: Path) -> None:
    settings = EnergySettings(watts_per_core=10.0, grid_gco2e_per_kwh=250.0)
    meter = EnergyMeter(settings=settings, powercap_root=tmp_path / "no-powercap")
    meter.start()
    record = meter.stop(cpu_seconds=360.0)
    assert record.cpu_method is CpuMethod.ESTIMATE and record.watts_per_core == 10.0
    assert record.joules == pytest.approx(3600.0)
    assert record.kwh == pytest.approx(0.001)
    assert record.gco2e == pytest.approx(0.25)
    data = record.to_dict()
    assert data["method"] == "estimate" and data["kwh"] == pytest.approx(0.001) and data["gco2e"] == 0.25


def test_no_counter_and_no_cpu_time_says_so(tmp_path: Path) -> None:
    meter = EnergyMeter(powercap_root=tmp_path)
    meter.start()
    record = meter.stop()
    assert record.cpu_method is CpuMethod.NONE and record.cpu_joules is None and record.joules == 0.0


def test_rapl_packages_with_wraparound_and_cpu_share(tmp_path: Path) -> None:
    powercap = tmp_path / "powercap"
    zero = rapl_zone(powercap, "intel-rapl:0", 1_000_000)
    rapl_zone(powercap, "intel-rapl:0:0", 500_000)  # a sub-zone (core): inside package 0 already
    one = rapl_zone(powercap, "intel-rapl:1", 9_000_000)
    stat = tmp_path / "stat"
    proc_stat(stat, busy_ticks=1000)
    meter = EnergyMeter(powercap_root=powercap, proc_stat=stat)
    meter.start()
    write(zero / "energy_uj", "3000000\n")  # +2.0 J
    write(one / "energy_uj", "500000\n")  # wrapped at 10 J: +1.5 J
    write(powercap / "intel-rapl:0:0/energy_uj", "9999999\n")  # must not count
    proc_stat(stat, busy_ticks=1000 + 4 * TICK)  # the machine was busy 4 CPU-seconds
    record = meter.stop(cpu_seconds=2.0)
    assert record.cpu_method is CpuMethod.RAPL and record.method == "rapl"
    assert record.cpu_share == pytest.approx(0.5)
    assert record.cpu_joules == pytest.approx(3.5 * 0.5)


def test_rapl_sampling_counts_every_wrap(tmp_path: Path) -> None:
    powercap = tmp_path / "powercap"
    zone = rapl_zone(powercap, "intel-rapl:0", 8_000_000)
    meter = EnergyMeter(powercap_root=powercap, proc_stat=tmp_path / "no-stat")
    meter.start()
    for value in (2_000_000, 9_000_000):  # what the background sampler would see between wraps
        write(zone / "energy_uj", f"{value}\n")
        meter.sample()
    write(zone / "energy_uj", "1000000\n")
    record = meter.stop()  # no CPU time known: the whole package is charged
    assert record.cpu_share == 1.0
    assert record.cpu_joules == pytest.approx((10 - 8 + 2) + (9 - 2) + (10 - 9 + 1))  # two wraps: 13 J


def test_unreadable_rapl_falls_back_to_the_estimate(tmp_path: Path) -> None:
    powercap = tmp_path / "powercap"
    (powercap / "intel-rapl:0").mkdir(parents=True)  # energy_uj missing: as when only root may read it
    meter = EnergyMeter(powercap_root=powercap)
    meter.start()
    record = meter.stop(cpu_seconds=1.0)
    assert record.cpu_method is CpuMethod.ESTIMATE


def test_gpu_energy_from_nvml_counters(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    gpus = [FakeGpu(energy_mj=[1_000_000, 1_250_000]), FakeGpu(energy_mj=[5_000, 105_000])]
    fake = make_module(gpus)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    meter = EnergyMeter(gpu_indices=[0, 1], powercap_root=tmp_path)
    meter.start()
    record = meter.stop(cpu_seconds=10.0)
    assert record.gpu_method is GpuMethod.NVML
    assert record.gpu_joules == pytest.approx(250.0 + 100.0)
    assert record.method == "estimate+nvml"
    assert record.joules == pytest.approx(350.0 + 10.0 * EnergySettings().watts_per_core)
    assert fake.state["shutdowns"] == 1


def test_gpu_without_an_energy_counter_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", make_module([FakeGpu(energy_mj=None)]))
    meter = EnergyMeter(gpu_indices=[0], powercap_root=tmp_path)
    meter.start()
    record = meter.stop(cpu_seconds=1.0)
    assert record.gpu_method is GpuMethod.UNSUPPORTED and record.gpu_joules is None
    assert record.method == "estimate+unsupported"


def test_gpu_asked_on_a_machine_without_nvml(tmp_path: Path) -> None:
    """For real here (no driver): the GPU figure is missing and says so, nothing raises."""
    meter = EnergyMeter(gpu_indices=[0], powercap_root=tmp_path)
    meter.start()
    record = meter.stop(cpu_seconds=1.0)
    assert record.gpu_method in (GpuMethod.UNSUPPORTED, GpuMethod.NVML)


def test_meter_is_single_use() -> None:
    meter = EnergyMeter()
    with pytest.raises(RuntimeError):
        meter.stop()
    meter.start()
    with pytest.raises(RuntimeError):
        meter.start()
    meter.stop()
