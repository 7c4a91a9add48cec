"""The GPU image's lock, runtime/image-gpu.lock: an entry of its own beside runtime/image.lock (the CPU
image's, which it never changes). It records the inputs that live in this repository now, and the image
id once someone builds the image with `make runtime-image GPU=1 LOCK=1` on a machine with the disk for it
(an empty `image_id` until then)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from runtime.gpu.recipe import GPU_LOCK_FILE
from runtime.offline.lock import ImageLock, read_lock
from runtime.offline.spec import BuildError

__all__ = ["NOT_BUILT", "read_gpu_lock", "render_gpu_lock", "write_gpu_lock"]

NOT_BUILT = ""  # the image_id of a lock whose image nobody has built yet


def render_gpu_lock(lock: ImageLock) -> str:
    lines = [
        "# The GPU runtime image (CUDA torch) and what it is built from: runtime/build_offline_gpu.py,",
        "# `make runtime-image GPU=1`. `image_id` is empty until a build with LOCK=1 records it; the",
        "# inputs below are those in this repository (`--lock-inputs` refreshes them without building).",
        "# The CPU image's lock is runtime/image.lock.",
        f"tag = {json.dumps(lock.tag)}",
        f"image_id = {json.dumps(lock.image_id)}",
        f"inputs_digest = {json.dumps(lock.inputs_digest)}",
        "",
        "[inputs]",
    ]
    lines += [f"{name} = {json.dumps(lock.inputs[name])}" for name in sorted(lock.inputs)]
    return "\n".join(lines) + "\n"


def read_gpu_lock(path: Path = GPU_LOCK_FILE) -> ImageLock | None:
    return read_lock(path)


def write_gpu_lock(
    tag: str, image_id: str, inputs: Mapping[str, str], path: Path = GPU_LOCK_FILE
) -> ImageLock:
    if image_id and not image_id.startswith("sha256:"):
        raise BuildError(f"not an image id: {image_id!r}")
    lock = ImageLock(tag, image_id, dict(inputs))
    path.write_text(render_gpu_lock(lock))
    return lock
