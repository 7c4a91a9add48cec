#!/usr/bin/env python3
"""Build the GPU runtime image (CUDA torch) on a machine without a container registry.

    .venv/bin/python runtime/build_offline_gpu.py [--check] [--lock | --lock-inputs] [--force]
        [--staging DIR]
    make runtime-image GPU=1 [LOCK=1]

The GPU variant of runtime/build_offline.py: the same steps and reproducibility rules (runtime/offline),
with runtime/requirements-gpu.txt (torch==2.13.0, the registry's CUDA 13 build, and its nvidia-*-cu13
wheels, where the CPU build refuses CUDA), tag crowdcompute/runtime-gpu:torch2.13-cu13, and the NVIDIA
driver's libraries left out (the NVIDIA container runtime mounts the host's into each GPU container).
It needs about 2.6 GB of downloads and 17 GB of free disk; it refuses before downloading, naming the need
and the free space, when the disk is short (runtime/gpu/recipe.py). Its lock, runtime/image-gpu.lock,
holds the repository's inputs now and the image id once built with --lock; runtime/image.lock (the CPU
image) is never touched. The last stdout line is "<tag> <image id>".
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from runtime.gpu.build import build_gpu_image  # noqa: E402
from runtime.gpu.lock import NOT_BUILT, read_gpu_lock, write_gpu_lock  # noqa: E402
from runtime.gpu.recipe import GPU_LOCK_FILE, GPU_TAG, gpu_spec  # noqa: E402
from runtime.offline.checks import check_image  # noqa: E402
from runtime.offline.inputs import source_inputs  # noqa: E402
from runtime.offline.lock import compare_with_lock  # noqa: E402
from runtime.offline.progress import to_stderr  # noqa: E402
from runtime.offline.spec import BuildError, HostPython  # noqa: E402


def lock_inputs_only() -> int:
    """Record the repository's inputs in the GPU lock without building (the id is kept only when they
    are unchanged: other inputs make the recorded image another one)."""
    inputs = source_inputs(gpu_spec(), HostPython.current())
    lock = read_gpu_lock()
    unchanged = lock is not None and all(lock.inputs.get(name) == value for name, value in inputs.items())
    image_id = lock.image_id if lock is not None and unchanged else NOT_BUILT
    kept = dict(lock.inputs) if lock is not None and unchanged else {}
    write_gpu_lock(GPU_TAG, image_id, {**kept, **inputs})
    to_stderr(f"lock: wrote {GPU_LOCK_FILE} ({'id kept' if image_id else 'not built yet'})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even when the inputs are unchanged")
    parser.add_argument("--keep-staging", action="store_true", help="keep the staged root")
    parser.add_argument("--check", action="store_true", help="import torch inside the built image")
    parser.add_argument("--lock", action="store_true", help="record this build in runtime/image-gpu.lock")
    parser.add_argument(
        "--lock-inputs", action="store_true", help="record the repository's inputs in the lock; no build"
    )
    parser.add_argument("--staging", type=Path, default=None, help="stage the root here")
    args = parser.parse_args(argv)
    if args.lock_inputs:
        return lock_inputs_only()
    import docker

    try:
        client = docker.from_env(timeout=900)
        built = build_gpu_image(
            gpu_spec(),
            client=client,
            force=args.force,
            keep_staging=args.keep_staging,
            staging_dir=args.staging,
        )
        if args.check:
            to_stderr(f"check: torch, numpy, threads = {check_image(built.tag, client)}")
        lock = read_gpu_lock()
        if args.lock:
            write_gpu_lock(built.tag, built.image_id, built.inputs)
            to_stderr(f"lock: wrote {GPU_LOCK_FILE} ({built.tag} {built.image_id})")
        elif lock is not None and lock.image_id != NOT_BUILT:
            to_stderr("lock: " + compare_with_lock(lock, built.image_id, built.inputs).describe(built.inputs))
        else:
            to_stderr(f"lock: {GPU_LOCK_FILE} records no image yet; record this one with --lock")
    except BuildError as error:
        to_stderr(f"build_offline_gpu: {error}")
        return 1
    except docker.errors.DockerException as error:
        to_stderr(f"build_offline_gpu: no Docker engine answers ({error}); start one (make docker)")
        return 1
    print(f"{built.tag} {built.image_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
