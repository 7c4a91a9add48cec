#!/usr/bin/env python3
"""Copy an example job folder and pin its job.toml to the runtime image built on this machine (the fallback).

    python3 examples/pin_runtime.py examples/digits_mlp /tmp/digits-job [--image TAG | --digest sha256:...]

The examples pin the id in runtime/image.lock, which the reproducible builder (runtime/build_offline.py)
gives wherever its inputs match the lock; this script is for a machine whose build differs (the builder
names the inputs that differ), or for another image. It copies SRC to DEST (which must not exist yet)
and rewrites `[runtime] digest` (and `image`, with --image) in DEST/job.toml, taking the id from
`docker image inspect` of the image job.toml names. Prints the digest it wrote.

`crowdcompute job submit` does the same by itself, with a warning, when the gateway or this machine runs
another id than the lock's; the rule that rewrites job.toml is jobs/manifest/pinning.py, loaded here by
path so that this script runs with any Python 3.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_IMAGE_LINE = re.compile(r'^image\s*=\s*"([^"]+)"', re.MULTILINE)
_PINNING = Path(__file__).resolve().parent.parent / "jobs" / "manifest" / "pinning.py"


def _pinning() -> ModuleType:
    """jobs/manifest/pinning.py on its own (it imports only the standard library)."""
    spec = importlib.util.spec_from_file_location("crowdcompute_manifest_pinning", _PINNING)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def local_image_id(image: str) -> str:
    """The id of `image` in the local Docker engine, 'sha256:<64 hex>'."""
    result = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", image], capture_output=True, text=True
    )
    image_id = result.stdout.strip()
    if result.returncode != 0 or not _DIGEST.fullmatch(image_id):
        raise SystemExit(f"pin_runtime: cannot inspect {image}: {(result.stderr or image_id).strip()}")
    return image_id


def pin(text: str, digest: str, image: str | None = None) -> str:
    """`text` (a job.toml) with [runtime]'s digest (and image) replaced."""
    try:
        pinned: str = _pinning().pin_runtime_text(text, digest, image)
    except ValueError as exc:
        raise SystemExit(f"pin_runtime: {exc}") from None
    return pinned


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="an example folder holding job.toml")
    parser.add_argument("dest", type=Path, help="where the pinned copy goes (must not exist)")
    parser.add_argument("--image", help="run this image instead of the one job.toml names")
    parser.add_argument("--digest", help="pin this id instead of asking the local Docker engine")
    args = parser.parse_args(argv)
    manifest = args.source / "job.toml"
    if not manifest.is_file():
        raise SystemExit(f"pin_runtime: {manifest} does not exist")
    if args.dest.exists():
        raise SystemExit(f"pin_runtime: {args.dest} already exists")
    text = manifest.read_text()
    named = _IMAGE_LINE.search(text[text.find("[runtime]") :])
    image = args.image or (named.group(1) if named else None)
    if image is None:
        raise SystemExit("pin_runtime: job.toml names no image; pass --image")
    digest = args.digest or local_image_id(image)
    if not _DIGEST.fullmatch(digest):
        raise SystemExit(f"pin_runtime: {digest!r} is not 'sha256:' + 64 hex digits")
    pinned = pin(text, digest, args.image)
    shutil.copytree(args.source, args.dest, ignore=shutil.ignore_patterns("__pycache__", "output"))
    (args.dest / "job.toml").write_text(pinned)
    print(digest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
