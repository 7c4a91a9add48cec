#!/usr/bin/env python3
"""GPU checks, on a machine with an NVIDIA GPU: the GPU runtime image, NVML's figures, GPU determinism.

    .venv/bin/python tools/gpu_check.py [--image-tar FILE] [--steps 3000] [--tolerance 1e-3]

1. the GPU runtime image: loaded from `--image-tar` (a `docker save` of it), or built here with
   runtime/build_offline_gpu.py (about 2.6 GB of wheels and 17 GB of disk; an image already built is
   reused), and compared with runtime/image-gpu.lock;
2. what a provider would advertise (provider_node.gpu_support: nvidia runtime, NVML's GPUs, the image);
3. NVML's figures: each GPU's name, memory, driver, compute capability, and power and energy over the run;
4. a digits MLP trained twice on GPU 0, each in a job container as the provider runs jobs (hardened, no
   network, a device request for one GPU), and the distance between the two final models (`rel_l2`,
   `max_abs`, sdk.distance) against the tolerance a GPU job would declare: GPU determinism.

Prints the figures and writes them to bench/results/gpu_check.json. Exits 2 with a message naming what
is missing on a machine without a GPU, NVIDIA driver or nvidia container runtime, 1 when a step fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

RESULTS = REPO / "bench" / "results" / "gpu_check.json"
DIGITS = REPO / "examples" / "digits_mlp" / "data" / "digits.npz"

# The job each run executes: the digits MLP on cuda:0, seeded, without deterministic kernels (a GPU job's
# usual case): two runs differ only by the GPU's own nondeterminism.
TRAIN = """
import json, os, time
import numpy as np, torch
from torch import nn
out = os.environ["CROWDCOMPUTE_OUTPUT_DIR"]
steps = int(os.environ["GPU_CHECK_STEPS"])
data = np.load("/input/digits.npz")
x = torch.tensor(data["train_images"], dtype=torch.float32).reshape(len(data["train_images"]), -1).cuda()
y = torch.tensor(data["train_labels"], dtype=torch.long).cuda()
torch.manual_seed(1234)
layers = [nn.Linear(x.shape[1], 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)]
model = nn.Sequential(*layers).cuda()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
generator = torch.Generator(device="cuda").manual_seed(99)
torch.cuda.synchronize()
began = time.monotonic()
for step in range(steps):
    batch = torch.randint(0, len(x), (256,), device="cuda", generator=generator)
    loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
torch.cuda.synchronize()
seconds = time.monotonic() - began
torch.save({k: v.cpu() for k, v in model.state_dict().items()}, os.path.join(out, "model.pt"))
said = {"device": torch.cuda.get_device_name(0), "train_s": seconds, "loss": float(loss)}
print(json.dumps({**said, "torch": torch.__version__, "cuda": torch.version.cuda}))
"""


class Missing(Exception):
    """What this machine lacks for the GPU checks (exit 2)."""


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def nvml_figures() -> tuple[Any, list[dict[str, Any]]]:
    """NVML's answer for every GPU (raises `Missing` without a driver or GPU)."""
    try:
        import pynvml
    except ImportError as error:
        raise Missing("nvidia-ml-py is not installed: run `make setup` first") from error
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as error:
        raise Missing(
            f"no NVIDIA driver answers ({error}): run this on a machine with an NVIDIA GPU"
        ) from None
    count = pynvml.nvmlDeviceGetCount()
    if count == 0:
        raise Missing("NVML finds no GPU on this machine")
    gpus = []
    for index in range(count):
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        name = pynvml.nvmlDeviceGetName(handle)
        major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
        gpus.append(
            {
                "index": index,
                "name": name.decode() if isinstance(name, bytes) else name,
                "memory_mib": int(pynvml.nvmlDeviceGetMemoryInfo(handle).total) // 2**20,
                "compute_capability": f"{major}.{minor}",
                "power_limit_mw": _try(partial(pynvml.nvmlDeviceGetEnforcedPowerLimit, handle)),
            }
        )
    return pynvml, gpus


def _try(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except Exception:  # a counter this GPU lacks is reported as null
        return None


def gpu_image(client: Any, image_tar: Path | None) -> dict[str, Any]:
    """Load or build the GPU runtime image; its tag, id, and how it compares with the lock."""
    from runtime.gpu.lock import NOT_BUILT, read_gpu_lock
    from runtime.gpu.recipe import GPU_TAG

    began = time.monotonic()
    if image_tar is not None:
        with image_tar.open("rb") as archive:
            client.images.load(archive)  # streamed: the image is GBs
        how = f"loaded from {image_tar}"
    else:
        built = subprocess.run(
            [sys.executable, str(REPO / "runtime" / "build_offline_gpu.py"), "--check"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        if built.returncode != 0:
            raise RuntimeError("runtime/build_offline_gpu.py failed (its messages are above)")
        how = "built here (runtime/build_offline_gpu.py)"
    image_id = str(client.images.get(GPU_TAG).id)
    lock = read_gpu_lock()
    locked = lock.image_id if lock is not None else NOT_BUILT
    return {
        "tag": GPU_TAG,
        "id": image_id,
        "how": how,
        "seconds": round(time.monotonic() - began, 1),
        "locked_id": locked or None,
        "matches_lock": (image_id == locked) if locked else None,
    }


def run_on_gpu(client: Any, image: dict[str, Any], steps: int, work: Path, nvml: Any) -> dict[str, Any]:
    """One training run in a job container with one GPU; its output and NVML's power and energy."""
    from jobs.executors import ExecutionId, ExecutionRequest, ImageRef, WaitTimeout
    from jobs.executors.docker import DockerExecutor

    name = uuid.uuid4().hex[:8]
    inputs, outputs = work / f"in-{name}", work / f"out-{name}"
    inputs.mkdir(parents=True)
    (inputs / "train.py").write_text(TRAIN)
    (inputs / "digits.npz").write_bytes(DIGITS.read_bytes())
    executor = DockerExecutor(client, node_id=f"gpu-check-{name}", gpu_runtime=None)
    request = ExecutionRequest(
        execution_id=ExecutionId(f"gpu-check-{name}"),
        job_id="gpu-check",
        image=ImageRef(image["tag"], image["id"]),
        argv=("python3", "/input/train.py"),
        input_dir=inputs,
        output_dir=outputs,
        env={"GPU_CHECK_STEPS": str(steps)},
        cpus=2.0,
        memory_mib=8192,
        gpus=1,
        gpu_devices=("0",),
        timeout_s=1800.0,
    )
    handle = nvml.nvmlDeviceGetHandleByIndex(0)
    energy_before = _try(lambda: nvml.nvmlDeviceGetTotalEnergyConsumption(handle))
    powers: list[float] = []
    lines: list[str] = []
    began = time.monotonic()
    try:
        executor.start(request, on_log=lines.append)
        while True:
            try:
                result = executor.wait(request.execution_id, timeout=0.5)
                break
            except WaitTimeout:  # still running: sample the power and wait on
                power = _try(lambda: nvml.nvmlDeviceGetPowerUsage(handle) / 1000)
                if power is not None:
                    powers.append(power)
    finally:
        executor.close()
    wall = time.monotonic() - began
    energy_after = _try(lambda: nvml.nvmlDeviceGetTotalEnergyConsumption(handle))
    if not result.ok:
        raise RuntimeError(f"the GPU run failed: {result.state.value}: {result.reason}; log: {lines[-10:]}")
    said = json.loads(next(line for line in reversed(lines) if line.lstrip().startswith("{")))
    energy = (energy_after - energy_before) / 1000 if energy_before is not None and energy_after else None
    return {
        **said,
        "wall_s": round(wall, 2),
        "energy_j": round(energy, 1) if energy is not None else None,
        "power_w_mean": round(sum(powers) / len(powers), 1) if powers else None,
        "power_w_max": round(max(powers), 1) if powers else None,
        "model": str(outputs / "model.pt"),
    }


def distance(first: str, second: str) -> dict[str, Any]:
    import torch

    from sdk.distance import state_distance

    a = torch.load(first, map_location="cpu", weights_only=True)
    b = torch.load(second, map_location="cpu", weights_only=True)
    found = state_distance(a, b).to_json()
    found["bit_identical"] = all(torch.equal(a[key], b[key]) for key in a)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image-tar", type=Path, default=None, help="docker save of the GPU image to load")
    parser.add_argument("--steps", type=int, default=3000, help="training steps per run (default 3000)")
    parser.add_argument("--tolerance", type=float, default=1e-3, help="rel_l2 a GPU job would declare")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    try:
        import docker

        from provider_node.gpu_support import detect_gpu_support

        nvml, gpus = nvml_figures()
        client = docker.from_env(timeout=900)
        runtimes = sorted((client.info().get("Runtimes") or {}).keys())
        if "nvidia" not in runtimes:
            raise Missing(
                f"the Docker engine has no nvidia runtime (runtimes: {', '.join(runtimes)}): install the "
                "NVIDIA container toolkit and run `nvidia-ctk runtime configure --runtime=docker`"
            )
    except Missing as missing:
        say(f"gpu_check: {missing}. Nothing was measured.")
        return 2
    import tempfile

    try:
        say(f"gpu_check: {len(gpus)} GPU(s): " + ", ".join(g["name"] for g in gpus))
        image = gpu_image(client, args.image_tar)
        say(f"gpu_check: image {image['tag']} {image['id']} ({image['how']})")
        offer = detect_gpu_support(client).to_dict()
        with tempfile.TemporaryDirectory(prefix="gpu-check-") as work:
            runs = [run_on_gpu(client, image, args.steps, Path(work), nvml) for _ in range(2)]
            between = distance(runs[0].pop("model"), runs[1].pop("model"))
    except Exception as error:  # one line naming the failed step
        say(f"gpu_check: {type(error).__name__}: {error}")
        return 1
    rel_l2 = between.get("rel_l2")
    figures = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "host": platform.node(),
            "cpus": os.cpu_count(),
            "load_avg_1m_before": round(load_before, 2),
            "load_avg_1m_after": round(os.getloadavg()[0], 2),
        },
        "driver": _try(lambda: nvml.nvmlSystemGetDriverVersion()),
        "gpus": gpus,
        "image": image,
        "offer": offer,
        "steps": args.steps,
        "runs": runs,
        "distance_between_runs": between,
        "tolerance": args.tolerance,
        "within_tolerance": rel_l2 is not None and rel_l2 <= args.tolerance,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    print(json.dumps(figures, indent=2, default=str))
    say(f"gpu_check: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
