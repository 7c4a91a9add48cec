"""The reproducible runtime image: how long a build takes, and whether every build gives one id.

    .venv/bin/python bench/runtime_build.py [--runs 3]

Each run builds the CPU torch runtime image (runtime/build_offline.py's recipe) under a tag of its own,
staged in a folder of its own, with the venv and its compiled packages cached under build/runtime/ (the
first build on a machine adds the pip install and the compile of torch, about half a minute more). It
records the seconds, the machine's background (1-minute load average before and after, `busy_cores`
from /proc/stat, as bench/e2e.py), whether every run gave the same image id, and whether that id is
runtime/image.lock's; `noop_s` is a build whose image is already present (the no-op `make demo` pays).
The tags it made are removed afterwards. Writes bench/results/runtime_build.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.e2e import measured  # noqa: E402
from runtime.build_offline import check_against_lock  # noqa: E402
from runtime.offline.build import build_image  # noqa: E402
from runtime.offline.spec import DEFAULT_TAG, ImageSpec  # noqa: E402

RESULTS = REPO / "bench" / "results" / "runtime_build.json"
log = logging.getLogger("bench.runtime_build")


def main(argv: list[str] | None = None) -> int:
    import docker

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    client = docker.from_env(timeout=900)
    tags = [f"crowdcompute/runtime-cpu:bench-repro-{os.getpid()}-{n}" for n in range(args.runs)]
    runs: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="runtime-build-bench-") as tmp:
            for n, tag in enumerate(tags):
                began = time.monotonic()
                built, machine = measured(
                    lambda tag=tag, n=n: build_image(
                        ImageSpec(tag=tag),
                        client=client,
                        staging_dir=Path(tmp) / f"run-{n}",
                        progress=log.info,
                    )
                )
                runs.append(
                    {"build_s": round(time.monotonic() - began, 1), "image_id": built.image_id, **machine}
                )
                print(f"run {n + 1}: {runs[-1]['build_s']} s, {built.image_id[:19]}", file=sys.stderr)
        check = check_against_lock(built)
        began = time.monotonic()
        noop = build_image(ImageSpec(tag=tags[-1]), client=client, progress=log.info)
        noop_s = round(time.monotonic() - began, 2)
    finally:
        for tag in tags:
            if client.images.list(name=tag):
                client.images.remove(tag)
    ids = {run["image_id"] for run in runs}
    seconds = [run["build_s"] for run in runs]
    result = {
        "runs": runs,
        "figures": {
            "same_id_every_run": len(ids) == 1,
            "matches_lock": bool(check and check.matches),
            "inputs_differing_from_lock": list(check.differing) if check else None,
            "image_id": runs[0]["image_id"],
            "image_mib": round(built.size_bytes / 2**20),
            "build_s": {"min": min(seconds), "median": statistics.median(seconds), "max": max(seconds)},
            "noop_s": noop_s,
            "noop_reused": noop.reused,
        },
        "locked_tag": DEFAULT_TAG,
        "cpu_count": os.cpu_count(),
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["figures"], indent=2))
    return 0 if len(ids) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
