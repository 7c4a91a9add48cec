"""The Docker engine and images the executor tests run on, all made on this machine (no registry).

The test image is this machine's Python with its standard library (about 75 MiB), built by the same
code as the runtime image (runtime/build_offline.py) without torch; it adds one deliberate trap,
`/usr/local/bin/suid-python`, a set-uid-root copy of the interpreter, to prove no-new-privileges
holds. Both images are tagged and kept between runs (rebuilt only when their inputs change).
"""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from jobs.executors.base import ImageRef

REPO = Path(__file__).resolve().parents[2]
ENSURE_DOCKER = REPO / "tools" / "ensure-docker.sh"
TEST_IMAGE_TAG = "crowdcompute/test-python:latest"
SUID_PYTHON = "/usr/local/bin/suid-python"
TEST_LABEL = "crowdcompute.test"

logger = logging.getLogger(__name__)


def ensure_docker() -> None:
    """Make sure an engine answers (installing/starting one as root); raise with the reason if not."""
    result = subprocess.run(["bash", str(ENSURE_DOCKER)], capture_output=True, text=True, cwd=REPO)
    if result.returncode != 0:
        raise RuntimeError(
            "these tests need a Docker engine and tools/ensure-docker.sh could not provide one:\n"
            + (result.stdout + result.stderr).strip()
        )


def load_builder() -> ModuleType:
    name = "crowdcompute_runtime_build_offline"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "runtime" / "build_offline.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve their module while the class is built
    spec.loader.exec_module(module)
    return module


def build_test_image(client: Any) -> ImageRef:
    builder = load_builder()
    python = builder.HostPython.current()
    spec = builder.ImageSpec(
        tag=TEST_IMAGE_TAG,
        requirements=None,
        include_sdk=False,
        extra_files=(builder.ExtraFile(SUID_PYTHON, python.executable, 0o4755),),
        labels={TEST_LABEL: "1"},
    )
    built = builder.build_image(spec, progress=logger.info, client=client)
    return ImageRef(TEST_IMAGE_TAG, built.image_id)


def build_runtime_image(client: Any) -> ImageRef:
    """The real CPU torch runtime image (about 1 GB; a minute when its inputs changed)."""
    builder = load_builder()
    built = builder.build_image(builder.ImageSpec(), progress=logger.info, client=client)
    return ImageRef(built.tag, built.image_id)
