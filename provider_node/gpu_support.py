"""Can this node run GPU jobs? Three things are needed, each checked here: an NVIDIA container runtime
registered with the Docker engine (`docker info`'s runtimes), GPUs that NVML answers for
(`hardware.probe_gpus`), and the GPU runtime image (`make runtime-image GPU=1`; runtime/image-gpu.lock
names its tag, and its id once locked).

A node with all three advertises its GPUs (count, memory of the smallest, class of the weakest) when it
registers, and runs a GPU job (manifest `resources.gpus` > 0) with the job's pinned image and a device
request for the GPUs (jobs/executors/docker_options.py). A node missing any advertises none and skips GPU
jobs with a reason naming what is missing and how to get it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs.manifest.pinning import LOCK_FILE, locked_runtime
from jobs.matching import SkipKind, SkipReason
from provider_node.hardware import GpuProbe, probe_gpus

__all__ = [
    "GPU_LOCK_FILE",
    "GPU_TAG",
    "GpuCheck",
    "GpuSupport",
    "detect_gpu_support",
    "gpu_check_for",
    "gpu_image_of",
    "probe_gpu_support",
]

GPU_LOCK_FILE = LOCK_FILE.with_name("image-gpu.lock")
GPU_TAG = "crowdcompute/runtime-gpu:torch2.13-cu13"  # runtime/gpu/recipe.py's; the lock's when present
NVIDIA_RUNTIME = "nvidia"
RECHECK_S = 60.0  # a runtime installed or an image built while the node runs is noticed within this
GpuCheck = Callable[[int], SkipReason | None]
"""Why a job asking for that many GPUs cannot run on this node; None when it can."""
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class GpuSupport:
    runtimes: tuple[str, ...]  # the engine's, or () when it did not answer
    gpus: GpuProbe
    image_tag: str
    image_id: str | None  # the GPU runtime image found on the engine; None: absent
    image_problem: str | None  # why the image cannot be used (absent, not the locked id)
    engine_problem: str | None = None

    @property
    def missing(self) -> tuple[str, ...]:
        """What this node lacks to run GPU jobs, each with how to get it; empty when it can."""
        found = []
        if self.engine_problem is not None:
            found.append(f"no Docker engine answers ({self.engine_problem})")
        elif NVIDIA_RUNTIME not in self.runtimes:
            found.append(
                f"the Docker engine has no nvidia runtime (runtimes: {', '.join(self.runtimes) or 'none'}): "
                "install the NVIDIA container toolkit and run `nvidia-ctk runtime configure --runtime=docker`"
            )
        if not self.gpus.gpus:
            found.append(f"NVML finds no GPU ({self.gpus.error or 'none reported'})")
        if self.image_problem is not None:
            found.append(self.image_problem)
        return tuple(found)

    @property
    def ready(self) -> bool:
        return not self.missing

    def capabilities(self) -> dict[str, int]:
        """The GPU fields of the node's registered capabilities: its GPUs when ready, else none."""
        if not self.ready:
            return {"gpu_count": 0, "gpu_memory_mib": 0, "gpu_class": 0}
        gpus = self.gpus.gpus
        classes = [gpu.compute_capability[0] for gpu in gpus if gpu.compute_capability]
        return {
            "gpu_count": len(gpus),
            "gpu_memory_mib": min(gpu.memory_bytes for gpu in gpus) // MIB,
            # the compute capability's major version of the weakest GPU (7 Volta, 8 Ampere, 9 Hopper)
            "gpu_class": min(classes, default=0),
        }

    def skip_reason(self, gpus: int) -> SkipReason | None:
        """Why a job asking for `gpus` GPUs cannot run here; None when it can (or asks for none)."""
        if gpus <= 0 or self.ready:
            return None
        return SkipReason(
            f"it asks for {gpus} GPU(s) and this node cannot run GPU jobs: {'; '.join(self.missing)}",
            SkipKind.GPUS,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "missing": list(self.missing),
            "runtimes": list(self.runtimes),
            "gpus": [gpu.to_dict() for gpu in self.gpus.gpus],
            "image": {"tag": self.image_tag, "id": self.image_id},
        }


def gpu_image_of(lock_file: Path | None = None) -> tuple[str, str]:
    """The GPU runtime image's tag and locked id ("" until someone builds it with LOCK=1)."""
    return locked_runtime(lock_file or GPU_LOCK_FILE) or (GPU_TAG, "")


def detect_gpu_support(
    client: Any,
    *,
    gpus: Callable[[], GpuProbe] = probe_gpus,
    lock_file: Path | None = None,
) -> GpuSupport:
    """Ask the engine (`client`: a docker SDK client; None when none answers) and NVML; the GPU image is
    the one `lock_file` names (default runtime/image-gpu.lock)."""
    import docker.errors

    tag, locked = gpu_image_of(lock_file or GPU_LOCK_FILE)
    probe = gpus()
    if client is None:
        return GpuSupport((), probe, tag, None, None, engine_problem="no client")
    try:
        info: Mapping[str, Any] = client.info()
    except (docker.errors.DockerException, OSError) as error:
        return GpuSupport((), probe, tag, None, None, engine_problem=str(error))
    runtimes = tuple(sorted((info.get("Runtimes") or {}).keys()))
    try:
        image_id: str | None = str(client.images.get(tag).id)
    except docker.errors.ImageNotFound:
        image_id = None
    except (docker.errors.DockerException, OSError) as error:
        return GpuSupport(runtimes, probe, tag, None, None, engine_problem=str(error))
    problem = None
    if image_id is None:
        problem = f"the GPU runtime image {tag} is not on this node: build it with `make runtime-image GPU=1`"
    elif locked and image_id != locked:
        problem = (
            f"the GPU runtime image {tag} here is {image_id}, not the locked {locked} "
            "(runtime/image-gpu.lock): rebuild it with `make runtime-image GPU=1`, which names the inputs "
            "that differ"
        )
    return GpuSupport(runtimes, probe, tag, image_id, problem)


def probe_gpu_support(gpus: Callable[[], GpuProbe] = probe_gpus) -> GpuSupport:
    """`detect_gpu_support` against the local Docker engine (none answering is one more thing missing)."""
    import docker

    try:
        client = docker.from_env(timeout=10)
    except docker.errors.DockerException as error:
        return GpuSupport((), gpus(), gpu_image_of()[0], None, None, engine_problem=str(error))
    try:
        return detect_gpu_support(client, gpus=gpus)
    finally:
        client.close()


def gpu_check_for(executor: object, detect: Callable[[], GpuSupport] = probe_gpu_support) -> GpuCheck:
    """The daemon's check of GPU jobs, detected again at most every `RECHECK_S`; executors without
    containers (the no-op executor of tests and benches) run every job, as they accept every image."""
    if getattr(executor, "resolve_image", None) is None:
        return lambda gpus: None
    cached: list[tuple[float, GpuSupport]] = []

    def check(gpus: int) -> SkipReason | None:
        if gpus <= 0:
            return None
        now = time.monotonic()
        if not cached or now - cached[0][0] > RECHECK_S:
            cached[:] = [(now, detect())]
        return cached[0][1].skip_reason(gpus)

    return check
