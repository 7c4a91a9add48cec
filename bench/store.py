#!/usr/bin/env python3
"""Throughput of the embedded content store on a 256 MB random file; writes bench/results/store.json.

- `cid_mb_s`: CIDv1 only-hash of the file (read + chunk + sha256 + DAG), nothing stored.
- `add_mb_s`: `add_file` into a fresh store with the default durability (every block fsynced).
- `cat_mb_s`: `cat` of the same CID, every block read and verified, bytes discarded.

Figures are MB/s with MB = 10^6 bytes, best of `--repeat` runs. The input file is written once and is in
the page cache for every run, so the figures measure the store, not the disk read of the source.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jobs.store.embedded import EmbeddedStore

RESULTS = Path(__file__).resolve().parent / "results" / "store.json"
TARGETS = {"add_mb_s": 200.0, "cat_mb_s": 200.0, "cid_mb_s": 500.0}


def best_rate(size: int, repeat: int, run: Callable[[int], object]) -> float:
    best = float("inf")
    for attempt in range(repeat):
        start = time.perf_counter()
        run(attempt)
        best = min(best, time.perf_counter() - start)
    return size / best / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=256, help="file size in MiB (default 256)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-fsync", action="store_true", help="measure add without per-block fsync")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    size = args.size_mb << 20

    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        source = Path(tmp) / "input.bin"
        with source.open("wb") as out:
            for _ in range(args.size_mb):
                out.write(os.urandom(1 << 20))

        probe = EmbeddedStore(Path(tmp) / "probe")
        cid_rate = best_rate(size, args.repeat, lambda _: probe.add_file(source, only_hash=True))

        stores = [
            EmbeddedStore(Path(tmp) / f"store-{i}", fsync=not args.no_fsync) for i in range(args.repeat)
        ]
        add_rate = best_rate(size, args.repeat, lambda i: stores[i].add_file(source))
        cid = stores[0].add_file(source, only_hash=True)

        def cat(_: int) -> None:
            total = sum(len(chunk) for chunk in stores[0].cat(cid))
            assert total == size

        cat_rate = best_rate(size, args.repeat, cat)

    figures = {
        "add_mb_s": round(add_rate, 1),
        "cat_mb_s": round(cat_rate, 1),
        "cid_mb_s": round(cid_rate, 1),
    }
    report = {
        **figures,
        "file_bytes": size,
        "cid": str(cid),
        "fsync": not args.no_fsync,
        "repeat": args.repeat,
        "targets": TARGETS,
        "meets_targets": all(figures[key] >= target for key, target in TARGETS.items()),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    for key, value in figures.items():
        print(f"{key:10} {value:8.1f} MB/s   (target >= {TARGETS[key]:.0f})")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
