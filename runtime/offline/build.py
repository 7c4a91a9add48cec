"""The build, step by step: `build_image` runs the steps of the other modules unless an image built from
the same inputs already carries the tag (the inputs' hash is a label on the image, and so is the
breakdown the image lock compares: `inputs.lock_inputs`)."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path, PurePosixPath
from typing import Any

from runtime.offline.bytecode import compile_for_image
from runtime.offline.checks import check_nothing_private
from runtime.offline.docker_load import existing_image, load_rootfs, remove_superseded
from runtime.offline.files import digest, rel, tree_size
from runtime.offline.inputs import image_inputs, lock_inputs
from runtime.offline.libraries import run_ldconfig, stage_libraries
from runtime.offline.packages import compiled_site, ensure_venv
from runtime.offline.progress import Progress, since, to_stderr
from runtime.offline.rootfs import copy_tree, skip_pycache, stage_python, stage_skeleton
from runtime.offline.spec import (
    BUILD_DIR,
    LABEL_INPUTS,
    LABEL_LOCK_INPUTS,
    REPO,
    BuiltImage,
    HostPython,
    ImageSpec,
)


def build_image(
    spec: ImageSpec,
    *,
    force: bool = False,
    keep_staging: bool = False,
    progress: Progress | None = None,
    client: Any = None,
    staging_dir: Path | None = None,
) -> BuiltImage:
    """Build `spec` unless an image with the same inputs already carries its tag. The root is staged
    under `staging_dir` (default build/runtime/), which never changes the image."""
    import docker  # the only dependency beyond the standard library

    say = progress or to_stderr
    began = time.monotonic()
    python = HostPython.current()
    client = client or docker.from_env(timeout=900)

    inputs = image_inputs(spec, python)
    key = digest(json.dumps(inputs, sort_keys=True).encode())
    say(f"[1/7] inputs: Python {python.full_version} from {python.executable}; key {key[:16]}")
    existing = existing_image(client, spec.tag)
    if existing is not None and not force and existing.labels.get(LABEL_INPUTS) == key:
        size = int(existing.attrs.get("Size") or 0)
        say(f"      {spec.tag} is up to date ({existing.id}); nothing to do")
        recorded = json.loads(existing.labels.get(LABEL_LOCK_INPUTS) or "{}")
        return BuiltImage(spec.tag, existing.id, size, time.monotonic() - began, True, recorded)

    site = None
    if spec.requirements is not None:
        say("[2/7] packages: venv with " + ", ".join(_requirement_names(spec.requirements)))
        site = compiled_site(ensure_venv(spec.requirements, python, say), python, say)
    else:
        say("[2/7] packages: none (standard library only)")

    root = (staging_dir or BUILD_DIR) / f"rootfs-{key[:16]}"
    if root.exists():
        shutil.rmtree(root)
    try:
        step = time.monotonic()
        stage_skeleton(root)
        libpython = stage_python(root, python)
        if site is not None:
            copy_tree(site, root / rel(python.image_site), lambda relative, is_dir: False)
        if spec.include_sdk and (REPO / "sdk").is_dir():
            copy_tree(REPO / "sdk", root / rel(python.image_site / "sdk"), skip_pycache)
        for extra in spec.extra_files:
            target = root / rel(PurePosixPath(extra.image_path))
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(extra.source, target)
            target.chmod(extra.mode)
        files, _ = tree_size(root)
        say(f"[3/7] staged {files} files in {since(step)}")

        step = time.monotonic()
        libraries = stage_libraries(root, python, libpython)
        cache = run_ldconfig(root)
        say(f"[4/7] shared libraries: {len(libraries)} copied from ldd's answers; {cache} in {since(step)}")

        step = time.monotonic()
        stdlib = root / rel(python.image_stdlib)
        sdk = root / rel(python.image_site / "sdk")
        targets = [entry for entry in sorted(stdlib.iterdir()) if entry.name != "site-packages"]
        compile_for_image(root, python, [*targets, *([sdk] if sdk.exists() else [])])
        say(f"[5/7] .pyc compiled for the read-only root in {since(step)}")

        check_nothing_private(root)
        step = time.monotonic()
        recorded = lock_inputs(spec, python, site, libraries)
        labels = {LABEL_LOCK_INPUTS: json.dumps(recorded, sort_keys=True)}
        image_id = load_rootfs(client, root, spec, python, key, labels, say)
        say(f"[6/7] loaded in {since(step)}")
    finally:
        if not keep_staging:
            shutil.rmtree(root, ignore_errors=True)

    image = client.images.get(image_id)
    if existing is not None and existing.id != image.id:
        remove_superseded(client, existing.id, say)
    seconds = time.monotonic() - began
    size_bytes = int(image.attrs.get("Size") or 0)
    _record(spec.tag, image.id, key, seconds, size_bytes)
    say(f"[7/7] {spec.tag} {image.id} ({size_bytes / 2**20:.0f} MiB) built in {seconds:.1f} s")
    return BuiltImage(spec.tag, image.id, size_bytes, seconds, False, recorded)


def _requirement_names(requirements: Path) -> list[str]:
    names = []
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line)
    return names[:2] + ([f"{len(names) - 2} more"] if len(names) > 2 else [])


def _record(tag: str, image_id: str, key: str, seconds: float, size: int) -> None:
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    record = {"tag": tag, "image_id": image_id, "inputs": key, "seconds": round(seconds, 1), "size": size}
    (BUILD_DIR / (re.sub(r"[^A-Za-z0-9_.-]", "_", tag) + ".json")).write_text(json.dumps(record, indent=2))
