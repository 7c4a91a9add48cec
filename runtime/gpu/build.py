"""The GPU build: the CPU builder's steps (`runtime.offline.build.build_image`) with the CUDA venv made
first (`venv.ensure_gpu_venv`), the disk checked before any download, and the NVIDIA driver's libraries
left out of the image: the NVIDIA container runtime mounts the host's driver (libcuda, libnvidia-ml...)
into each GPU container, and a copy in the image would shadow it."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from runtime.gpu.recipe import check_disk
from runtime.gpu.venv import Installer, ensure_gpu_venv, venv_ready
from runtime.offline import libraries
from runtime.offline.build import build_image
from runtime.offline.docker_load import existing_image
from runtime.offline.files import digest
from runtime.offline.inputs import image_inputs
from runtime.offline.progress import Progress, to_stderr
from runtime.offline.spec import BUILD_DIR, LABEL_INPUTS, BuiltImage, HostPython, ImageSpec

# The driver's user-space libraries: never in an image, always the host's (mounted at run time).
DRIVER_LIBRARY = re.compile(r"^(libcuda|libnvidia-[a-z0-9-]+|libnvcuvid|libnvoptix)\.so(\.\d+)*$")
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found$")


def without_driver_libraries(ldd_output: str) -> str:
    """ldd's answer less the driver libraries it could not find (a machine without the driver)."""
    kept = []
    for line in ldd_output.splitlines(keepends=True):
        match = _NOT_FOUND.match(line.rstrip("\n"))
        if match and DRIVER_LIBRARY.match(match.group(1)):
            continue
        kept.append(line)
    return "".join(kept)


@contextlib.contextmanager
def driver_libraries_left_out() -> Iterator[None]:
    """While building, `libraries.stage_libraries` reads ldd's answers without the driver's libraries.

    A substitution rather than a parameter of runtime/offline: changing that package's sources would
    change the CPU image's id (its builder digest), which runtime/image.lock pins.
    """
    original = libraries._ldd

    def ldd(path: Path) -> str:
        return without_driver_libraries(original(path))

    libraries._ldd = ldd
    try:
        yield
    finally:
        libraries._ldd = original


def up_to_date(client: Any, spec: ImageSpec, python: HostPython) -> bool:
    """Whether the tag already carries an image of these inputs (the builder's own idempotency test)."""
    existing = existing_image(client, spec.tag)
    key = digest(json.dumps(image_inputs(spec, python), sort_keys=True).encode())
    return existing is not None and existing.labels.get(LABEL_INPUTS) == key


def build_gpu_image(
    spec: ImageSpec,
    *,
    client: Any,
    force: bool = False,
    keep_staging: bool = False,
    staging_dir: Path | None = None,
    progress: Progress | None = None,
    install: Installer | None = None,
    free_bytes: Callable[[Path], int] | None = None,
) -> BuiltImage:
    """Build the GPU image `spec` (`gpu_spec()`): the disk checked first, then the CUDA venv, then the
    CPU builder's steps with the driver's libraries left out. `install` and `free_bytes` replace pip and
    the file systems' free space (tests)."""
    say = progress or to_stderr
    python = HostPython.current()
    assert spec.requirements is not None
    if not force and up_to_date(client, spec, python):
        return build_image(spec, progress=say, client=client)  # says so, and reads the labels back
    docker_root = Path(str(client.info().get("DockerRootDir") or "/var/lib/docker"))
    ready = venv_ready(spec.requirements, python, BUILD_DIR)
    for need in check_disk(BUILD_DIR, docker_root, venv_ready=ready, free_bytes=free_bytes):
        say(f"[0/7] disk: {need.bytes_needed / 2**30:.1f} GiB needed on {need.folder}'s file system: ok")
    say("[0/7] packages: the CUDA venv (" + ("ready" if ready else "about 2.6 GB to download") + ")")
    ensure_gpu_venv(spec.requirements, python, say, build_dir=BUILD_DIR, install=install)
    with driver_libraries_left_out():
        return build_image(
            spec,
            force=force,
            keep_staging=keep_staging,
            progress=say,
            client=client,
            staging_dir=staging_dir,
        )
