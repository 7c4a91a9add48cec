"""A stand-in for NVIDIA's `pynvml` module (nvidia-ml-py), for the NVML code paths.

This machine has no GPU and no NVIDIA driver, so NVML answers nothing here but "library not found";
the tests that need GPUs inject this module as `pynvml` instead. It mimics the calls we use, the
exception classes they raise, and returns bytes or str as real versions of the binding do.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


# Named as in the real binding.
class NVMLError(Exception):
    pass


class NVMLError_LibraryNotFound(NVMLError):
    pass


class NVMLError_NotSupported(NVMLError):
    pass


class NVMLError_GpuIsLost(NVMLError):
    pass


@dataclass
class FakeGpu:
    name: str = "NVIDIA H100 80GB HBM3"
    uuid: str = "GPU-00000000-1111-2222-3333-444444444444"
    memory_bytes: int = 80 * 1024**3
    capability: tuple[int, int] = (9, 0)
    energy_mj: list[int] | None = field(default_factory=lambda: [1_000_000])  # successive readings
    lost: bool = False


def make_module(
    gpus: Sequence[FakeGpu] = (), *, init_error: type[NVMLError] | None = None, driver: str = "550.54.15"
) -> types.ModuleType:
    """A module object with the pynvml functions our code calls; `calls` records shutdowns."""
    module = types.ModuleType("pynvml")
    state: dict[str, Any] = {"initialised": False, "shutdowns": 0}

    def init() -> None:
        if init_error is not None:
            raise init_error("NVML Shared Library Not Found")
        state["initialised"] = True

    def shutdown() -> None:
        state["shutdowns"] += 1

    def handle(index: int) -> FakeGpu:
        if index >= len(gpus):
            raise NVMLError("Invalid Argument")
        if gpus[index].lost:
            raise NVMLError_GpuIsLost("GPU is lost")
        return gpus[index]

    def energy(gpu: FakeGpu) -> int:
        if gpu.energy_mj is None:
            raise NVMLError_NotSupported("Not Supported")
        return gpu.energy_mj.pop(0) if len(gpu.energy_mj) > 1 else gpu.energy_mj[0]

    module.__dict__.update(
        NVMLError=NVMLError,
        NVMLError_LibraryNotFound=NVMLError_LibraryNotFound,
        NVMLError_NotSupported=NVMLError_NotSupported,
        NVMLError_GpuIsLost=NVMLError_GpuIsLost,
        nvmlInit=init,
        nvmlShutdown=shutdown,
        nvmlSystemGetDriverVersion=lambda: driver.encode(),  # older bindings return bytes
        nvmlDeviceGetCount=lambda: len(gpus),
        nvmlDeviceGetHandleByIndex=handle,
        nvmlDeviceGetName=lambda gpu: gpu.name,
        nvmlDeviceGetUUID=lambda gpu: gpu.uuid,
        nvmlDeviceGetMemoryInfo=lambda gpu: types.SimpleNamespace(total=gpu.memory_bytes, free=0, used=0),
        nvmlDeviceGetCudaComputeCapability=lambda gpu: gpu.capability,
        nvmlDeviceGetTotalEnergyConsumption=energy,
        state=state,
    )
    return module


def nvml_present() -> bool:
    """Whether the real NVML answers on this machine (an NVIDIA driver is installed)."""
    import pynvml

    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return False
    pynvml.nvmlShutdown()
    return True
