"""What to build and from where: the image spec, this machine's Python, the builder's paths and labels."""

from __future__ import annotations

import os
import platform
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from runtime.offline.files import digest, file_digest

RECIPE_VERSION = "2"  # 2: a reproducible `docker load` archive instead of `docker import`
REPO = Path(__file__).resolve().parents[2]
BUILDER_SCRIPT = REPO / "runtime" / "build_offline.py"
BUILD_DIR = REPO / "build" / "runtime"
DEFAULT_TAG = "crowdcompute/runtime-cpu:torch2.13"
DEFAULT_REQUIREMENTS = REPO / "runtime" / "requirements.txt"
LABEL_INPUTS = "org.crowdcompute.runtime.inputs"
LABEL_RECIPE = "org.crowdcompute.runtime.recipe"
LABEL_LOCK_INPUTS = "org.crowdcompute.runtime.lock-inputs"  # the breakdown runtime/image.lock records
IMAGE_PREFIX = PurePosixPath("/usr/local")  # where this machine's Python lands in the image
RUNTIME_UID = 65534  # the executor runs every job as nobody


@dataclass(frozen=True)
class ExtraFile:
    """A file copied into the image (never hard-linked: its mode may differ from the source's)."""

    image_path: str
    source: Path
    mode: int = 0o755


@dataclass(frozen=True)
class ImageSpec:
    """What to build. `requirements=None`: Python and its standard library only (test images)."""

    tag: str = DEFAULT_TAG
    requirements: Path | None = DEFAULT_REQUIREMENTS
    include_sdk: bool = True
    extra_files: tuple[ExtraFile, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    image_id: str
    size_bytes: int
    seconds: float
    reused: bool
    inputs: Mapping[str, str] = field(default_factory=dict)
    """What the image was built from, input by input (`inputs.lock_inputs`), as the lock records it."""


class BuildError(RuntimeError):
    """The image could not be built; the message says which step and why."""


@dataclass(frozen=True)
class HostPython:
    executable: Path  # the real interpreter binary (not a venv's link)
    prefix: Path
    version: str  # "3.11"
    full_version: str
    stdlib: Path

    @classmethod
    def current(cls) -> HostPython:
        executable = Path(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
        return cls(
            executable=executable,
            prefix=Path(sys.base_prefix),
            version=f"{sys.version_info.major}.{sys.version_info.minor}",
            full_version=platform.python_version(),
            stdlib=Path(sysconfig.get_paths()["stdlib"]),
        )

    @property
    def image_stdlib(self) -> PurePosixPath:
        return IMAGE_PREFIX / "lib" / f"python{self.version}"

    @property
    def image_site(self) -> PurePosixPath:
        return self.image_stdlib / "site-packages"


def image_path_for(host_path: Path, python: HostPython) -> PurePosixPath:
    """Where a file of the host Python's prefix goes in the image (the prefix becomes /usr/local)."""
    try:
        return IMAGE_PREFIX / PurePosixPath(host_path.relative_to(python.prefix))
    except ValueError:
        return PurePosixPath(host_path)


def builder_digest() -> str:
    """The builder's own source (this entry script and package): a change to it rebuilds the image."""
    sources = [BUILDER_SCRIPT, *sorted(Path(__file__).parent.glob("*.py"))]
    return digest(b"".join(f"{path.name}\0{file_digest(path)}\n".encode() for path in sources))
