"""The GPU variant builds end to end through the CPU builder's steps, with a stand-in for its wheels.

The real CUDA wheels are GBs, never downloaded by tests: a small venv stands in (pip replaced), holding
what matters to the build: a CUDA torch's dist-info, an nvidia-* package, and a real shared library of
that package linked against the NVIDIA driver's libcuda.so.1, which no build machine without a driver
has. The image is built for real (a test tag, removed afterwards) and read back from the engine."""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from runtime.gpu import build as gpu_build
from runtime.gpu.build import build_gpu_image
from runtime.gpu.recipe import ACCELERATOR, GIB, LABEL_ACCELERATOR, gpu_spec
from runtime.offline import packages
from runtime.offline.spec import HostPython

log = logging.getLogger(__name__)
LIBRARY = "nvidia/cu13/lib/libstandin.so"
# Every libcuda* under the image's root, /proc and /sys left out (their links loop).
FIND_LIBCUDA = (
    "import os; print([os.path.join(d, f) for top in ('/usr', '/lib', '/lib64', '/etc', '/opt', '/tmp') "
    "for d, _, fs in os.walk(top) for f in fs if f.startswith('libcuda')])"
)


def standin_install(work: Path) -> Any:
    def install(venv: Path, requirements: Path) -> None:
        site = venv / "lib" / f"python{HostPython.current().version}" / "site-packages"
        for name, version in (("torch", "2.13.0"), ("nvidia-cublas", "13.1.1.3")):
            info = site / f"{name.replace('-', '_')}-{version}.dist-info"
            info.mkdir(parents=True)
            (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
            (info / "RECORD").write_text("")
        (site / "torch").mkdir()
        (site / "torch" / "__init__.py").write_text('__version__ = "2.13.0"\n')
        (site / LIBRARY).parent.mkdir(parents=True)
        (work / "driver.c").write_text("int cuInit(unsigned int flags) { return 0; }\n")
        (work / "uses.c").write_text(
            "int cuInit(unsigned int flags);\nint start(void) { return cuInit(0); }\n"
        )
        driver = work / "driver"
        driver.mkdir()
        gcc = ["gcc", "-shared", "-fPIC", "-o"]
        subprocess.run(
            [*gcc, driver / "libcuda.so", "-Wl,-soname,libcuda.so.1", work / "driver.c"], check=True
        )
        subprocess.run([*gcc, site / LIBRARY, work / "uses.c", f"-L{driver}", "-lcuda"], check=True)

    return install


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc to make a library that needs libcuda")
def test_the_gpu_variant_builds_with_cuda_allowed_and_the_driver_left_out(
    docker_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_dir = tmp_path / "build"
    monkeypatch.setattr(packages, "BUILD_DIR", build_dir)  # the CPU step looks for the venv here
    monkeypatch.setattr(gpu_build, "BUILD_DIR", build_dir)
    requirements = tmp_path / "requirements-gpu.txt"
    requirements.write_text("torch==2.13.0\nnvidia-cublas==13.1.1.3\n")
    tag = f"crowdcompute/test-gpu-variant:pytest-{os.getpid()}"
    spec = dataclasses.replace(gpu_spec(requirements, include_sdk=False), tag=tag)
    try:
        built = build_gpu_image(
            spec,
            client=docker_client,
            staging_dir=tmp_path / "staging",
            progress=log.info,
            install=standin_install(tmp_path),
            free_bytes=lambda folder: 100 * GIB,
        )
        assert built.inputs["torch"].startswith("2.13.0 ")  # the CUDA build, where the CPU build refuses it
        image = docker_client.images.get(tag)
        assert image.id == built.image_id and image.labels[LABEL_ACCELERATOR] == ACCELERATOR
        site = f"/usr/local/lib/python{HostPython.current().version}/site-packages"
        listing = docker_client.containers.run(
            tag,
            [
                "python3",
                "-c",
                f"import os, torch; print(torch.__version__, os.path.exists('{site}/{LIBRARY}'))",
            ],
            network_mode="none",
            remove=True,
        )
        assert listing.decode().split() == ["2.13.0", "True"]
        found = docker_client.containers.run(
            tag,
            ["python3", "-c", FIND_LIBCUDA],
            network_mode="none",
            remove=True,
        )
        assert found.decode().strip() == "[]"  # the NVIDIA runtime mounts the host's at run time
    finally:
        if any(tag in image.tags for image in docker_client.images.list(name=tag.split(":")[0])):
            docker_client.images.remove(tag, force=True)
