"""Example jobs made runnable here: pinned to this machine's runtime image, with a shorter schedule.

The examples pin runtime/image.lock's image id (this machine's build gives it when its inputs match the
lock; the copy is pinned to this machine's id either way, so the demo runs where they differ) and a full
training schedule; the demo wants a run of seconds, so the copy's `[verification] checkpoint_interval`
and `segments` are rewritten too, and a comment in the copy says so.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
import tomllib
from functools import cache
from pathlib import Path
from types import ModuleType

from chain import REPO_ROOT
from crowdcompute.demo.errors import RuntimeImageMissing

__all__ = [
    "EXAMPLES_DIR",
    "RUNTIME_IMAGE",
    "RuntimeImageMissing",
    "example_schedule",
    "local_image_id",
    "pin_example",
    "pin_example_as_is",
]

EXAMPLES_DIR = REPO_ROOT / "examples"
RUNTIME_IMAGE = "crowdcompute/runtime-cpu:torch2.13"


def local_image_id(tag: str) -> str:
    """The image id of `tag` in the local Docker engine ('sha256:...')."""
    import docker
    from docker.errors import DockerException, ImageNotFound

    try:
        client = docker.from_env(timeout=30)
    except DockerException as exc:
        raise RuntimeImageMissing(
            f"no Docker engine answers ({exc}); start one (`make docker` does it as root)"
        ) from None
    try:
        image_id: str = client.images.get(tag).id
    except ImageNotFound:
        raise RuntimeImageMissing(
            f"the runtime image {tag} is not built on this machine; build it with `make runtime-image`"
        ) from None
    finally:
        client.close()
    return image_id


@cache
def _pin_runtime() -> ModuleType:
    """examples/pin_runtime.py, whose `pin` rewrites a job.toml's [runtime] table (one rule, one place)."""
    name = "crowdcompute_examples_pin_runtime"
    spec = importlib.util.spec_from_file_location(name, EXAMPLES_DIR / "pin_runtime.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def example_schedule(name: str) -> tuple[int, int]:
    """The example's own (checkpoint_interval, segments), from its job.toml."""
    with (EXAMPLES_DIR / name / "job.toml").open("rb") as manifest:
        verification = tomllib.load(manifest)["verification"]
    return int(verification["checkpoint_interval"]), int(verification["segments"])


def _set_schedule(text: str, interval: int, segments: int) -> str:
    start = text.find("[verification]")
    if start < 0:
        raise ValueError("job.toml has no [verification] table")
    end = text.find("\n[", start + 1)
    end = len(text) if end < 0 else end
    table = text[start:end]
    for key, value in (("checkpoint_interval", interval), ("segments", segments)):
        table, count = re.subn(rf"^{key}\s*=\s*\d+.*$", f"{key} = {value}", table, count=1, flags=re.M)
        if count != 1:
            raise ValueError(f"job.toml's [verification] table has no {key} line")
    note = (
        f"# Shortened for the demo: {segments} segments x {interval} steps ({segments * interval} steps).\n"
    )
    return text[:start] + note + table + text[end:]


def pin_example(name: str, dest: Path, *, image_id: str, interval: int, segments: int) -> Path:
    """Copy examples/<name> to `dest` (replacing it), pinned to `image_id`, with the given schedule."""
    if interval < 1 or segments < 1:
        raise ValueError(f"interval and segments must be >= 1, got {interval} and {segments}")
    source = EXAMPLES_DIR / name
    manifest = source / "job.toml"
    if not manifest.is_file():
        raise FileNotFoundError(f"{manifest} does not exist: no example named {name!r}")
    text = _set_schedule(_pin_runtime().pin(manifest.read_text(), image_id), interval, segments)
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__", "output"))
    (dest / "job.toml").write_text(text)
    return dest


def pin_example_as_is(name: str, dest: Path, *, image_id: str) -> Path:
    """Copy examples/<name> to `dest` (replacing it), pinned to `image_id`, its schedule untouched."""
    source = EXAMPLES_DIR / name
    manifest = source / "job.toml"
    if not manifest.is_file():
        raise FileNotFoundError(f"{manifest} does not exist: no example named {name!r}")
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__", "output"))
    (dest / "job.toml").write_text(_pin_runtime().pin(manifest.read_text(), image_id))
    return dest
