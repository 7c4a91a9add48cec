"""Energy and emissions of one execution, measured where the hardware tells, estimated where it does not.

    meter = EnergyMeter(gpu_indices=[0])
    meter.start()
    ...run the execution...
    record = meter.stop(cpu_seconds=result.cpu_seconds)

GPU energy comes from NVML's total-energy counter of the GPUs given to the execution (Volta and newer).
CPU energy comes from the RAPL package counters in /sys/class/powercap where they are readable (often
root only), shared out by the execution's part of all the CPU time the machine spent meanwhile (the
package counts every process); elsewhere it is estimated as CPU seconds x a configured watts per core.
The record says which method gave each figure. Counters that wrap (RAPL's, every few tens of minutes
at full load) are sampled in the background often enough to count every wrap.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CpuMethod", "EnergyMeter", "EnergyRecord", "EnergySettings", "GpuMethod"]

logger = logging.getLogger(__name__)

JOULES_PER_KWH = 3.6e6


class CpuMethod(enum.StrEnum):
    RAPL = "rapl"  # package energy counters, attributed by CPU-time share
    ESTIMATE = "estimate"  # cpu_seconds x watts_per_core
    NONE = "none"  # no counter and no CPU time to estimate from


class GpuMethod(enum.StrEnum):
    NVML = "nvml"  # the GPUs' total-energy counters
    UNSUPPORTED = "unsupported"  # GPUs given, but NVML has no energy counter for them
    NONE = "none"  # the execution had no GPU


@dataclass(frozen=True, slots=True)
class EnergySettings:
    watts_per_core: float = 12.0  # a busy core of a current server CPU, package share included
    grid_gco2e_per_kwh: float = 400.0  # roughly the world's average grid intensity
    sample_interval_s: float = 30.0  # RAPL wraps after max_energy_range_uj; sample well before


@dataclass(frozen=True, slots=True)
class EnergyRecord:
    seconds: float
    cpu_joules: float | None
    cpu_method: CpuMethod
    gpu_joules: float | None
    gpu_method: GpuMethod
    cpu_seconds: float | None
    cpu_share: float | None  # the execution's part of the package energy (RAPL only)
    watts_per_core: float | None  # the figure an estimate used
    grid_gco2e_per_kwh: float

    @property
    def joules(self) -> float:
        return (self.cpu_joules or 0.0) + (self.gpu_joules or 0.0)

    @property
    def kwh(self) -> float:
        return self.joules / JOULES_PER_KWH

    @property
    def gco2e(self) -> float:
        return self.kwh * self.grid_gco2e_per_kwh

    @property
    def method(self) -> str:
        """How the total was obtained, in one word: `rapl+nvml`, `estimate`, ..."""
        parts = [self.cpu_method.value]
        if self.gpu_method is not GpuMethod.NONE:
            parts.append(self.gpu_method.value)
        return "+".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "seconds": self.seconds,
            "joules": self.joules,
            "kwh": self.kwh,
            "gco2e": self.gco2e,
            "grid_gco2e_per_kwh": self.grid_gco2e_per_kwh,
            "cpu_joules": self.cpu_joules,
            "cpu_method": self.cpu_method.value,
            "cpu_seconds": self.cpu_seconds,
            "cpu_share": self.cpu_share,
            "watts_per_core": self.watts_per_core,
            "gpu_joules": self.gpu_joules,
            "gpu_method": self.gpu_method.value,
        }


@dataclass(slots=True)
class _Counter:
    """One wrapping energy counter: RAPL's µJ (wraps at `wrap`) or NVML's mJ (never wraps)."""

    last: int
    wrap: int | None
    total: int = 0

    def advance(self, value: int) -> None:
        if value >= self.last:
            self.total += value - self.last
        elif self.wrap:
            self.total += self.wrap - self.last + value  # wrapped once since the last sample
        self.last = value


class EnergyMeter:
    """Measures one execution between `start()` and `stop()`; see the module docstring."""

    def __init__(
        self,
        *,
        settings: EnergySettings | None = None,
        gpu_indices: Sequence[int] = (),
        powercap_root: Path = Path("/sys/class/powercap"),
        proc_stat: Path = Path("/proc/stat"),
    ) -> None:
        self._settings = settings or EnergySettings()
        self._gpu_indices = tuple(gpu_indices)
        self._powercap = powercap_root
        self._proc_stat = proc_stat
        self._nvml: Any = None
        self._rapl: dict[Path, _Counter] = {}
        self._gpus: dict[int, _Counter] = {}
        self._gpu_unsupported = False
        self._busy_start: float | None = None
        self._started: float | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None

    def start(self) -> None:
        if self._started is not None:
            raise RuntimeError("this meter was already started")
        self._started = time.monotonic()
        self._busy_start = _busy_cpu_seconds(self._proc_stat)
        self._rapl = self._open_rapl()
        self._gpus = self._open_gpus()
        if self._rapl:
            self._sampler = threading.Thread(target=self._sample_loop, name="energy-sampler", daemon=True)
            self._sampler.start()

    def stop(self, *, cpu_seconds: float | None = None) -> EnergyRecord:
        """End the measurement; `cpu_seconds` is the execution's CPU time (for attribution or estimate)."""
        if self._started is None:
            raise RuntimeError("stop() before start()")
        self._stop.set()
        if self._sampler is not None:
            self._sampler.join(timeout=5)
        self.sample()
        seconds = time.monotonic() - self._started
        busy_end = _busy_cpu_seconds(self._proc_stat)
        gpu_joules, gpu_method = self._gpu_figures()
        self._close_nvml()
        settings = self._settings
        cpu_share: float | None = None
        watts: float | None = None
        if self._rapl:
            package = sum(counter.total for counter in self._rapl.values()) / 1e6
            cpu_method = CpuMethod.RAPL
            busy = _delta(self._busy_start, busy_end)
            # The package counts every process: charge the execution its part of the busy CPU time.
            cpu_share = min(1.0, cpu_seconds / busy) if cpu_seconds is not None and busy else 1.0
            cpu_joules: float | None = package * cpu_share
        elif cpu_seconds is not None:
            cpu_method, watts = CpuMethod.ESTIMATE, settings.watts_per_core
            cpu_joules = cpu_seconds * settings.watts_per_core
        else:
            cpu_method, cpu_joules = CpuMethod.NONE, None
        return EnergyRecord(
            seconds=seconds,
            cpu_joules=cpu_joules,
            cpu_method=cpu_method,
            gpu_joules=gpu_joules,
            gpu_method=gpu_method,
            cpu_seconds=cpu_seconds,
            cpu_share=cpu_share,
            watts_per_core=watts,
            grid_gco2e_per_kwh=settings.grid_gco2e_per_kwh,
        )

    def sample(self) -> None:
        """Read every counter once (the background sampler calls this; so does `stop`)."""
        with self._lock:
            for path, counter in self._rapl.items():
                value = _read_int(path / "energy_uj")
                if value is not None:
                    counter.advance(value)
            for index, counter in self._gpus.items():
                value = self._gpu_energy(index)
                if value is not None:
                    counter.advance(value)

    # -- RAPL -------------------------------------------------------------------------------------

    def _open_rapl(self) -> dict[Path, _Counter]:
        """Package zones only ("intel-rapl:N"): their sub-zones (core, dram) are already inside them."""
        counters: dict[Path, _Counter] = {}
        try:
            zones = sorted(self._powercap.glob("intel-rapl:*"))
        except OSError:
            return counters
        for zone in zones:
            if zone.name.count(":") != 1:
                continue
            value = _read_int(zone / "energy_uj")
            wrap = _read_int(zone / "max_energy_range_uj")
            if value is None:
                logger.debug("RAPL zone %s is not readable; falling back to estimates", zone)
                return {}  # all packages or none: a partial sum would under-count
            counters[zone] = _Counter(last=value, wrap=wrap)
        return counters

    def _sample_loop(self) -> None:
        while not self._stop.wait(self._settings.sample_interval_s):
            self.sample()

    # -- NVML -------------------------------------------------------------------------------------

    def _open_gpus(self) -> dict[int, _Counter]:
        if not self._gpu_indices:
            return {}
        try:
            import pynvml
        except ImportError:
            self._gpu_unsupported = True
            return {}
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as error:
            logger.warning("GPU energy unavailable: %s", error)
            self._gpu_unsupported = True
            return {}
        self._nvml = pynvml
        counters = {}
        for index in self._gpu_indices:
            value = self._gpu_energy(index)
            if value is None:
                self._gpu_unsupported = True
                continue
            counters[index] = _Counter(last=value, wrap=None)
        return counters

    def _gpu_energy(self, index: int) -> int | None:
        """Millijoules since the driver loaded, or None where the GPU has no such counter (pre-Volta)."""
        nvml = self._nvml
        if nvml is None:
            return None
        try:
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            return int(nvml.nvmlDeviceGetTotalEnergyConsumption(handle))
        except nvml.NVMLError as error:
            logger.debug("no energy counter on GPU %s: %s", index, error)
            return None

    def _gpu_figures(self) -> tuple[float | None, GpuMethod]:
        if not self._gpu_indices:
            return None, GpuMethod.NONE
        if self._gpu_unsupported or not self._gpus:
            return None, GpuMethod.UNSUPPORTED
        return sum(counter.total for counter in self._gpus.values()) / 1e3, GpuMethod.NVML

    def _close_nvml(self) -> None:
        if self._nvml is not None:
            with contextlib.suppress(self._nvml.NVMLError):
                self._nvml.nvmlShutdown()
            self._nvml = None


def _busy_cpu_seconds(proc_stat: Path) -> float | None:
    """CPU time the whole machine spent busy so far (all CPUs, from the first line of /proc/stat)."""
    try:
        fields = proc_stat.read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    if not fields or fields[0] != "cpu":
        return None
    # user nice system idle iowait irq softirq steal ...: everything but idle and iowait is busy
    values = [int(v) for v in fields[1:9]]
    busy = sum(values) - values[3] - values[4]
    return busy / os.sysconf("SC_CLK_TCK")


def _delta(start: float | None, end: float | None) -> float | None:
    return end - start if start is not None and end is not None else None


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None
