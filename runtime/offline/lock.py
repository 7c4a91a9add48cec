"""The image lock, `runtime/image.lock`: the runtime image's tag and id, and the inputs it was built from.

The examples pin the lock's id, so a job submitted from a fresh clone runs on any node whose build
matches the lock. `build_offline.py --lock` writes it; every other build of the locked recipe compares:
the same inputs must give the same id (else the builder is not reproducible: `LockMismatch`), other
inputs (another Python, torch or shared library) give another id, which is said with the inputs that
differ, and the build goes on.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runtime.offline.files import digest
from runtime.offline.spec import REPO, BuildError

LOCK_FILE = REPO / "runtime" / "image.lock"
INPUT_NAMES = ("python", "torch", "packages", "requirements", "sdk", "libraries", "builder")
"""What an image's bytes depend on, each a line of the lock's [inputs] table."""


class LockMismatch(BuildError):
    """The inputs equal the lock's, yet the image id differs: the builder is not reproducible."""


@dataclass(frozen=True)
class ImageLock:
    tag: str
    image_id: str
    inputs: Mapping[str, str] = field(default_factory=dict)

    @property
    def inputs_digest(self) -> str:
        return inputs_digest(self.inputs)


@dataclass(frozen=True)
class LockCheck:
    """How a build compares with the lock: `differing` names the inputs that differ (empty: all equal)."""

    lock: ImageLock
    image_id: str
    differing: tuple[str, ...]

    @property
    def matches(self) -> bool:
        return not self.differing and self.image_id == self.lock.image_id

    def describe(self, inputs: Mapping[str, str]) -> str:
        if self.matches:
            return f"{self.lock.tag} {self.image_id} matches runtime/image.lock"
        lines = [
            f"this machine builds {self.image_id}, not the locked {self.lock.image_id}: its inputs differ "
            f"from runtime/image.lock in {', '.join(self.differing)}:"
        ]
        lines += [
            f"  {name}: locked {self.lock.inputs.get(name, '(none)')!r}, here {inputs.get(name, '(none)')!r}"
            for name in self.differing
        ]
        lines.append(
            f"Jobs pinned to the locked id (the examples) will not run on this machine's provider or "
            f"validator; `job submit` pins a copy of such a job to {self.image_id} instead (a local "
            "network only). Build with the locked inputs, or run `runtime/build_offline.py --lock` to "
            "move the lock (and the examples) to this build."
        )
        return "\n".join(lines)


def inputs_digest(inputs: Mapping[str, str]) -> str:
    return "sha256:" + digest(json.dumps(dict(inputs), sort_keys=True).encode())


def compare_with_lock(lock: ImageLock, image_id: str, inputs: Mapping[str, str]) -> LockCheck:
    """Raises `LockMismatch` when the inputs equal the lock's but the id does not."""
    names = sorted(set(lock.inputs) | set(inputs))
    differing = tuple(name for name in names if lock.inputs.get(name) != inputs.get(name))
    if not differing and image_id != lock.image_id:
        raise LockMismatch(
            f"the builder is not reproducible: every input equals runtime/image.lock's (inputs digest "
            f"{lock.inputs_digest}) but the image id is {image_id}, not the locked {lock.image_id}. "
            "Something outside the recorded inputs reached the image (a timestamp, a path, an order): "
            "compare the two layers (`docker save`) and fix the builder; do not move the lock"
        )
    return LockCheck(lock, image_id, differing)


def read_lock(path: Path = LOCK_FILE) -> ImageLock | None:
    """The lock at `path`; None when there is none. Raises `BuildError` for an unreadable one."""
    if not path.exists():
        return None
    try:
        data = tomllib.loads(path.read_text())
        inputs = data.get("inputs", {})
        return ImageLock(
            tag=str(data["tag"]),
            image_id=str(data["image_id"]),
            inputs={str(name): str(value) for name, value in inputs.items()},
        )
    except (tomllib.TOMLDecodeError, KeyError, AttributeError) as error:
        raise BuildError(
            f"{path} is not a valid image lock ({type(error).__name__}: {error}); "
            "rewrite it with `runtime/build_offline.py --lock`"
        ) from error


def render_lock(lock: ImageLock) -> str:
    lines = [
        "# The runtime image every provider and validator runs, and what it was built from.",
        "# Written by `runtime/build_offline.py --lock`; a build with these inputs gives this id on any",
        "# machine. examples/*/job.toml pin `image_id` (runtime/lock_examples.py keeps them in step).",
        f"tag = {json.dumps(lock.tag)}",
        f"image_id = {json.dumps(lock.image_id)}",
        f"inputs_digest = {json.dumps(lock.inputs_digest)}",
        "",
        "[inputs]",
    ]
    lines += [f"{name} = {json.dumps(lock.inputs[name])}" for name in sorted(lock.inputs)]
    return "\n".join(lines) + "\n"


def write_lock(lock: ImageLock, path: Path = LOCK_FILE) -> None:
    path.write_text(render_lock(lock))
