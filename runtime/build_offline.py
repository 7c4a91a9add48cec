#!/usr/bin/env python3
"""Build the CPU torch runtime image on a machine without a container registry.

    .venv/bin/python runtime/build_offline.py [--tag crowdcompute/runtime-cpu:torch2.13] [--force] [--check]
        [--lock] [--staging DIR]

Recipe (no base image is needed, nothing is pulled):
  1. a venv under build/runtime/ with runtime/requirements.txt installed by pip from its configured
     sources (torch==2.13.0+cpu: the CPU wheel; a CUDA build is refused);
  2. a root filesystem staged under build/runtime/: this machine's Python (moved to /usr/local), its
     standard library without tests and GUI modules, the venv's site-packages, the repo's `sdk/` if
     present, the shared libraries `ldd` reports for every binary, minimal /etc files, `ldconfig -r`;
  3. `.pyc` compiled for the image's paths (the root is read-only at run time); the compiled packages
     are cached beside the venv, so a rebuild for a changed sdk/ takes about half a minute;
  4. the image written by hand, reproducibly (runtime/offline/archive.py: one layer tar with sorted
     entries, time 0, owner 0:0, normalised modes; a config with a fixed `created`), and `docker load`
     of it: the image id is the digest of that config, so the same inputs give the same id anywhere.

The image lock, runtime/image.lock, holds the tag, the id and the inputs input by input (Python,
torch, the other packages, requirements, sdk/, the shared libraries' Debian packages, the builder).
`--lock` writes it and pins examples/*/job.toml to the id (runtime/lock_examples.py); every other build
of the locked recipe compares with it: equal inputs must give the locked id (else it fails: the builder
is not reproducible); other inputs are named, with what that means for jobs pinned to the lock, and
the build succeeds.

Running it again with the same inputs does nothing (the label matches); changed inputs rebuild and
remove the superseded image. Nothing host-private is copied: the staged tree is checked for home
folders, keys and password files before import. Progress goes to stderr; the last stdout line is
"<tag> <image id>", the id being the digest a job manifest pins.

With a registry, `docker build -f runtime/Dockerfile .` builds the equivalent image from python:3.11-slim.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Run as a script, only runtime/ is on the path; the steps are in the package runtime.offline.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from runtime.offline.build import build_image  # noqa: E402
from runtime.offline.checks import check_image, check_nothing_private  # noqa: E402
from runtime.offline.lock import (  # noqa: E402
    LOCK_FILE,
    ImageLock,
    LockCheck,
    compare_with_lock,
    read_lock,
    write_lock,
)
from runtime.offline.progress import to_stderr  # noqa: E402
from runtime.offline.spec import (  # noqa: E402
    DEFAULT_REQUIREMENTS,
    DEFAULT_TAG,
    BuildError,
    BuiltImage,
    ExtraFile,
    HostPython,
    ImageSpec,
)

__all__ = [
    "BuildError",
    "BuiltImage",
    "ExtraFile",
    "HostPython",
    "ImageSpec",
    "build_image",
    "check_against_lock",
    "check_image",
    "main",
]

_check_nothing_private = check_nothing_private  # the name the executor tests call it by


def check_against_lock(built: BuiltImage, lock_file: Path = LOCK_FILE) -> LockCheck | None:
    """Compare a build of the locked recipe with the lock (None: no lock yet); raises `LockMismatch`
    when the inputs are the lock's and the id is not."""
    lock = read_lock(lock_file)
    if lock is None:
        return None
    return compare_with_lock(lock, built.image_id, built.inputs)


def lock_build(built: BuiltImage, lock_file: Path = LOCK_FILE) -> ImageLock:
    """Write the lock for `built` and pin the examples to it."""
    from runtime.lock_examples import pin_examples

    lock = ImageLock(built.tag, built.image_id, dict(built.inputs))
    write_lock(lock, lock_file)
    to_stderr(f"lock: wrote {lock_file} ({built.tag} {built.image_id})")
    for path in pin_examples(built.image_id):
        to_stderr(f"lock: pinned {path} to {built.image_id}")
    return lock


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tag", default=DEFAULT_TAG, help=f"image tag (default {DEFAULT_TAG})")
    parser.add_argument("--requirements", type=Path, default=DEFAULT_REQUIREMENTS)
    parser.add_argument("--no-sdk", action="store_true", help="leave the repo's sdk/ out")
    parser.add_argument("--force", action="store_true", help="rebuild even when the inputs are unchanged")
    parser.add_argument(
        "--keep-staging", action="store_true", help="keep the staged root under build/runtime"
    )
    parser.add_argument("--check", action="store_true", help="import torch inside the built image")
    parser.add_argument(
        "--lock", action="store_true", help="write runtime/image.lock from this build and pin the examples"
    )
    parser.add_argument(
        "--staging", type=Path, default=None, help="stage the root here (default build/runtime/)"
    )
    args = parser.parse_args(argv)
    spec = ImageSpec(tag=args.tag, requirements=args.requirements, include_sdk=not args.no_sdk)
    locked_recipe = args.requirements.resolve() == DEFAULT_REQUIREMENTS.resolve() and not args.no_sdk
    try:
        built = build_image(spec, force=args.force, keep_staging=args.keep_staging, staging_dir=args.staging)
        if args.check:
            to_stderr(f"check: torch, numpy, threads = {check_image(built.tag)}")
        if args.lock:
            if not locked_recipe:
                raise BuildError("--lock records the runtime recipe: drop --requirements and --no-sdk")
            lock_build(built)
        elif locked_recipe:
            verdict = check_against_lock(built)
            if verdict is None:
                to_stderr("lock: no runtime/image.lock yet; write one with --lock")
            else:
                to_stderr("lock: " + verdict.describe(built.inputs))
    except BuildError as error:
        to_stderr(f"build_offline: {error}")
        return 1
    print(f"{built.tag} {built.image_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
