"""What the GPU image is built from: its tag, requirements, labels, lock file, and the disk it needs."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runtime.offline.files import digest, file_digest
from runtime.offline.spec import REPO, BuildError, ImageSpec

GPU_TAG = "crowdcompute/runtime-gpu:torch2.13-cu13"
GPU_REQUIREMENTS = REPO / "runtime" / "requirements-gpu.txt"
GPU_LOCK_FILE = REPO / "runtime" / "image-gpu.lock"
LABEL_ACCELERATOR = "org.crowdcompute.runtime.accelerator"
LABEL_GPU_BUILDER = "org.crowdcompute.runtime.gpu-builder"
ACCELERATOR = "cuda13"  # torch 2.13.0's registry build: CUDA 13 (the nvidia-*-cu13 wheels)
GIB = 2**30

# Measured from the registry's wheels for the pins in runtime/requirements-gpu.txt (Linux x86_64,
# CPython 3.11): their sizes, and the sum of their members' uncompressed sizes (read from each
# wheel's zip directory, without downloading the wheels).
WHEELS_BYTES = 2628 * 2**20
INSTALLED_BYTES = 4658 * 2**20
# Where the bytes land: the build folder holds the downloaded wheels while pip installs them, then the
# venv (its compiled copy is hard links plus .pyc); the engine keeps the layer it is loading and the
# unpacked layer at once. A margin for the standard library, .pyc files and the file system itself.
MARGIN_BYTES = 1 * GIB


def builder_sources() -> list[Path]:
    here = Path(__file__).parent
    return [REPO / "runtime" / "build_offline_gpu.py", *sorted(here.glob("*.py"))]


def gpu_builder_digest() -> str:
    """This package's own sources: a label of the image, so they count among the GPU image's inputs."""
    return digest(b"".join(f"{p.name}\0{file_digest(p)}\n".encode() for p in builder_sources()))[:32]


def gpu_spec(requirements: Path = GPU_REQUIREMENTS, *, include_sdk: bool = True) -> ImageSpec:
    return ImageSpec(
        tag=GPU_TAG,
        requirements=requirements,
        include_sdk=include_sdk,
        labels={LABEL_ACCELERATOR: ACCELERATOR, LABEL_GPU_BUILDER: gpu_builder_digest()},
    )


@dataclass(frozen=True)
class DiskNeed:
    folder: Path
    bytes_needed: int
    what: str


def disk_needs(build_dir: Path, docker_root: Path, *, venv_ready: bool) -> list[DiskNeed]:
    """The free space the GPU build needs, per file system (build folder and Docker root together when
    they share one). A ready venv (a build that stopped after pip) needs no download again."""
    build_bytes = 0 if venv_ready else WHEELS_BYTES + INSTALLED_BYTES
    build_what = "none: the venv is installed" if venv_ready else "the CUDA wheels and the venv"
    needs = [
        DiskNeed(build_dir, build_bytes + MARGIN_BYTES, build_what),
        DiskNeed(docker_root, 2 * INSTALLED_BYTES + MARGIN_BYTES, "the image layer, loaded and unpacked"),
    ]
    if _device(build_dir) == _device(docker_root):
        total = sum(need.bytes_needed for need in needs) - MARGIN_BYTES
        return [DiskNeed(build_dir, total, f"{build_what}, and the image layer loaded and unpacked")]
    return needs


def check_disk(
    build_dir: Path,
    docker_root: Path,
    *,
    venv_ready: bool,
    free_bytes: Callable[[Path], int] | None = None,
) -> list[DiskNeed]:
    """Refuse the build, before any download, when a file system lacks the space it needs."""
    free = free_bytes or (lambda folder: shutil.disk_usage(_existing(folder)).free)
    needs = disk_needs(build_dir, docker_root, venv_ready=venv_ready)
    for need in needs:
        available = free(need.folder)
        if available < need.bytes_needed:
            raise BuildError(
                f"the GPU runtime image needs about {need.bytes_needed / GIB:.1f} GiB free on the file "
                f"system of {need.folder} ({need.what}; {WHEELS_BYTES / GIB:.1f} GiB of CUDA wheels, "
                f"{INSTALLED_BYTES / GIB:.1f} GiB installed), but {available / GIB:.1f} GiB is free. "
                "Free space there, or build on a machine with the disk for it (the GPU provider itself)"
            )
    return needs


def _existing(folder: Path) -> Path:
    folder = folder.absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _device(folder: Path) -> int:
    return _existing(folder).stat().st_dev
