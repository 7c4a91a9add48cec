#!/usr/bin/env python3
"""Copy an example job folder and pin its job.toml to the runtime image built on this machine.

    python3 examples/pin_runtime.py examples/digits_mlp /tmp/digits-job [--image TAG | --digest sha256:...]

Image ids of images built offline (runtime/build_offline.py) differ from machine to machine, so the
examples carry a placeholder digest. This copies SRC to DEST (which must not exist yet) and rewrites
`[runtime] digest` (and `image`, with --image) in DEST/job.toml, taking the id from
`docker image inspect` of the image job.toml names. Prints the digest it wrote.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_IMAGE_LINE = re.compile(r'^image\s*=\s*"([^"]+)"', re.MULTILINE)


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
    start = text.find("[runtime]")
    end = text.find("\n[", start + 1)
    if start < 0:
        raise SystemExit("pin_runtime: job.toml has no [runtime] table")
    end = len(text) if end < 0 else end
    table, count = re.subn(r'^digest\s*=\s*"[^"]*"', f'digest = "{digest}"', text[start:end], flags=re.M)
    if count != 1:
        raise SystemExit("pin_runtime: [runtime] must have exactly one digest line")
    if image is not None:
        table = _IMAGE_LINE.sub(f'image = "{image}"', table, count=1)
    return text[:start] + table + text[end:]


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
