#!/usr/bin/env python3
"""Pin every example job (examples/*/job.toml) to the image id in runtime/image.lock.

    python3 runtime/lock_examples.py [--check]

`runtime/build_offline.py --lock` runs it after writing the lock; `--check` changes nothing and exits 1
naming the examples whose digest differs from the lock's id (tests/runtime/test_image_lock.py asserts
the same). The rule that rewrites `[runtime] digest` is jobs/manifest/pinning.py, loaded by path so this
script needs no virtual environment.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
LOCK_FILE = REPO / "runtime" / "image.lock"
EXAMPLES = REPO / "examples"


def _pinning() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "crowdcompute_manifest_pinning", REPO / "jobs" / "manifest" / "pinning.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def locked_id(lock_file: Path = LOCK_FILE) -> str:
    return str(tomllib.loads(lock_file.read_text())["image_id"])


def example_manifests(examples: Path = EXAMPLES) -> list[Path]:
    return sorted(examples.glob("*/job.toml"))


def pinned_digest(manifest: Path) -> str:
    return str(tomllib.loads(manifest.read_text())["runtime"]["digest"])


def pin_examples(image_id: str, examples: Path = EXAMPLES) -> list[Path]:
    """Rewrite the examples whose digest is not `image_id`; returns those rewritten."""
    pin = _pinning().pin_runtime_text
    changed = []
    for manifest in example_manifests(examples):
        if pinned_digest(manifest) != image_id:
            manifest.write_text(pin(manifest.read_text(), image_id))
            changed.append(manifest)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report examples that differ")
    args = parser.parse_args(argv)
    image_id = locked_id()
    if args.check:
        stale = [m for m in example_manifests() if pinned_digest(m) != image_id]
        for manifest in stale:
            print(f"{manifest.relative_to(REPO)} pins {pinned_digest(manifest)}, the lock {image_id}")
        return 1 if stale else 0
    for manifest in pin_examples(image_id):
        print(f"pinned {manifest.relative_to(REPO)} to {image_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
