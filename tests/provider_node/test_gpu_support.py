"""GPU providers: a node advertises GPUs and runs GPU jobs only with an nvidia runtime, NVML's GPUs and
the GPU runtime image; without one of them it advertises none and skips GPU jobs naming what is missing.

This machine has no GPU, no NVIDIA driver and no nvidia runtime, so the GPU host's answers are fakes,
recorded from such a host: `docker info`'s Runtimes table (the NVIDIA container toolkit registers
`nvidia`) and NVML through tests/provider_node/fake_pynvml.py. What this machine can answer for real is
asked of the real engine: that it lacks the runtime, and the device request a GPU job's container gets.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from jobs.executors import ExecutionId
from jobs.executors.docker_options import container_options
from jobs.executors.manifest_request import request_for_manifest
from jobs.executors.noop import NoopExecutor
from jobs.manifest import Manifest, validate_manifest
from jobs.matching import SkipKind, kind_of
from provider_node import cli
from provider_node.gpu_support import GpuSupport, detect_gpu_support, gpu_check_for
from provider_node.hardware import GpuProbe, probe_gpus
from provider_node.matching import check_manifest
from tests.provider_node.fake_pynvml import FakeGpu, NVMLError_LibraryNotFound, make_module
from tests.provider_node.provider_jobs import FAKE_DIGEST, manifest_text
from tests.provider_node.test_matching import OFFER

GPU_TAG = "crowdcompute/runtime-gpu:torch2.13-cu13"
GPU_ID = "sha256:" + "9c" * 32
RUNC = {"io.containerd.runc.v2": {"path": "runc"}, "runc": {"path": "runc"}}
# Recorded from `docker info` on a host with the NVIDIA container toolkit configured for Docker.
GPU_HOST_INFO = {
    "Runtimes": {**RUNC, "nvidia": {"path": "nvidia-container-runtime"}},
    "DefaultRuntime": "runc",
    "DockerRootDir": "/var/lib/docker",
}
H100 = FakeGpu()
A10G = FakeGpu(name="NVIDIA A10G", uuid="GPU-2", memory_bytes=24 * 1024**3, capability=(8, 6))


class RecordedEngine:
    """A GPU host's engine as far as the detection asks it: `info()` and `images.get(tag)`."""

    def __init__(self, info: dict[str, Any], images: dict[str, str]) -> None:
        self._info, self._images = info, images
        self.images = self
        self.closed = False

    def info(self) -> dict[str, Any]:
        return self._info

    def get(self, tag: str) -> Any:
        if tag not in self._images:
            raise docker.errors.ImageNotFound(f"No such image: {tag}")
        return type("Image", (), {"id": self._images[tag]})()

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def gpu_lock(tmp_path: Path) -> Path:
    path = tmp_path / "image-gpu.lock"
    path.write_text(f'tag = "{GPU_TAG}"\nimage_id = "{GPU_ID}"\n')
    return path


@pytest.fixture
def nvml(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Callable[[], GpuProbe]]]:
    def install(*gpus: FakeGpu, missing_driver: bool = False) -> Callable[[], GpuProbe]:
        error = NVMLError_LibraryNotFound if missing_driver else None
        monkeypatch.setitem(sys.modules, "pynvml", make_module(gpus, init_error=error))
        return probe_gpus

    yield install


def gpu_manifest(gpus: int = 1) -> Manifest:
    text = manifest_text(GPU_TAG, GPU_ID).replace("[resources]\n", f"[resources]\ngpus = {gpus}\n")
    return validate_manifest(tomllib.loads(text))


def test_the_node_looks_for_the_image_the_gpu_builder_makes_and_locks() -> None:
    from provider_node.gpu_support import GPU_TAG as LOOKED_FOR
    from provider_node.gpu_support import gpu_image_of
    from runtime.gpu.recipe import GPU_TAG as BUILT

    assert LOOKED_FOR == BUILT == GPU_TAG == gpu_image_of()[0]


def test_a_node_with_runtime_gpus_and_image_advertises_its_gpus(gpu_lock: Path, nvml: Any) -> None:
    engine = RecordedEngine(GPU_HOST_INFO, {GPU_TAG: GPU_ID})
    support = detect_gpu_support(engine, gpus=nvml(H100, A10G), lock_file=gpu_lock)
    assert support.ready and support.missing == ()
    assert support.capabilities() == {"gpu_count": 2, "gpu_memory_mib": 24 * 1024, "gpu_class": 8}
    assert support.skip_reason(2) is None
    assert support.to_dict()["image"] == {"tag": GPU_TAG, "id": GPU_ID}


@pytest.mark.parametrize(
    ("info", "images", "driver", "missing"),
    [
        (
            {"Runtimes": RUNC},
            {GPU_TAG: GPU_ID},
            True,
            "no nvidia runtime (runtimes: io.containerd.runc.v2, runc)",
        ),
        (GPU_HOST_INFO, {GPU_TAG: GPU_ID}, False, "NVML finds no GPU (no NVIDIA driver"),
        (GPU_HOST_INFO, {}, True, f"the GPU runtime image {GPU_TAG} is not on this node"),
        (GPU_HOST_INFO, {GPU_TAG: "sha256:" + "0" * 64}, True, f"not the locked {GPU_ID}"),
    ],
    ids=["no-runtime", "no-driver", "no-image", "other-image"],
)
def test_a_node_missing_one_thing_advertises_no_gpu_and_skips_gpu_jobs_naming_it(
    gpu_lock: Path, nvml: Any, info: dict[str, Any], images: dict[str, str], driver: bool, missing: str
) -> None:
    gpus = nvml(H100, missing_driver=not driver)
    support = detect_gpu_support(RecordedEngine(info, images), gpus=gpus, lock_file=gpu_lock)
    assert not support.ready and len(support.missing) == 1
    assert support.capabilities() == {"gpu_count": 0, "gpu_memory_mib": 0, "gpu_class": 0}
    reason = support.skip_reason(1)
    assert reason is not None and missing in reason and kind_of(reason) is SkipKind.GPUS
    assert "asks for 1 GPU(s)" in reason
    assert support.skip_reason(0) is None  # CPU jobs are not affected


def test_register_offers_the_gpus_only_where_jobs_can_use_them(
    tmp_path: Path, gpu_lock: Path, nvml: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    nvml(H100)
    monkeypatch.setattr("provider_node.gpu_support.GPU_LOCK_FILE", gpu_lock)
    engines = {"ready": RecordedEngine(GPU_HOST_INFO, {GPU_TAG: GPU_ID})}
    monkeypatch.setattr(docker, "from_env", lambda **kwargs: engines["ready"])
    probed, caps = cli._probed_capabilities(tmp_path)
    assert (caps["gpu_count"], caps["gpu_memory_mib"], caps["gpu_class"]) == (1, 80 * 1024, 9)
    assert probed["gpu_support"]["ready"] is True and engines["ready"].closed
    engines["ready"] = RecordedEngine({"Runtimes": RUNC}, {GPU_TAG: GPU_ID})
    probed, caps = cli._probed_capabilities(tmp_path)
    assert (caps["gpu_count"], caps["gpu_memory_mib"], caps["gpu_class"]) == (0, 0, 0)
    assert probed["gpu_count"] == 1  # NVML sees the GPU; it is not offered
    assert "no nvidia runtime" in probed["gpu_support"]["missing"][0]


class ImageExecutor(NoopExecutor):
    """An executor with images (the daemon asks such executors about GPUs), otherwise the no-op one."""

    def resolve_image(self, image: Any) -> str:
        return GPU_ID


def test_the_daemons_manifest_check_skips_a_gpu_job_with_what_is_missing(gpu_lock: Path, nvml: Any) -> None:
    offer = OFFER.__class__(**{**OFFER.__dict__})
    detected: list[GpuSupport] = []

    def detect() -> GpuSupport:
        detected.append(
            detect_gpu_support(RecordedEngine({"Runtimes": RUNC}, {}), gpus=nvml(H100), lock_file=gpu_lock)
        )
        return detected[-1]

    check = gpu_check_for(ImageExecutor(), detect)
    assert (
        check_manifest(validate_manifest(tomllib.loads(manifest_text())), offer, lambda i: None, check)
        is None
    )
    assert detected == []  # a CPU job never asks
    needs_gpu = gpu_manifest()
    capable = offer.__class__(
        **{
            **offer.__dict__,
            "capabilities": offer.capabilities.__class__(
                **{**offer.capabilities.__dict__, "gpu_count": 1, "gpu_memory_mib": 81920, "gpu_class": 9}
            ),
        }
    )
    reason = check_manifest(needs_gpu, capable, lambda i: None, check)
    assert reason is not None and "no nvidia runtime" in reason and "is not on this node" in reason
    assert check_manifest(needs_gpu, capable, lambda i: None, gpu_check_for(NoopExecutor())) is None
    assert FAKE_DIGEST != GPU_ID


def test_a_gpu_jobs_container_requests_its_gpus_from_the_real_engine(
    docker_client: Any, test_image: Any, node_label: Callable[[], str], tmp_path: Path, nvml: Any
) -> None:
    """The engine here has no nvidia runtime: the real detection says so, and the container a ready node
    would create (its runtime answer recorded) carries the device request, as the engine records it."""
    real = detect_gpu_support(docker_client, gpus=nvml(H100))
    assert not real.ready and any("no nvidia runtime" in line for line in real.missing)
    ready = detect_gpu_support(RecordedEngine(GPU_HOST_INFO, {GPU_TAG: GPU_ID}), gpus=nvml(H100))
    label = node_label()
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    request = request_for_manifest(
        gpu_manifest(),
        execution_id=ExecutionId(f"gpu-{label}"),
        job_id=7,
        input_dir=tmp_path / "in",
        output_dir=tmp_path / "out",
    )
    options = container_options(request, image_id=test_image.digest, gpu_runtime=ready.ready)
    container = docker_client.containers.create(
        **{**options, "labels": {**options["labels"], "crowdcompute.node": label}}
    )
    try:
        (device,) = docker_client.api.inspect_container(container.id)["HostConfig"]["DeviceRequests"]
        assert device["Count"] == 1 and device["Capabilities"] == [["gpu"]]
        assert docker_client.api.inspect_container(container.id)["HostConfig"]["NetworkMode"] == "none"
    finally:
        container.remove(force=True)
