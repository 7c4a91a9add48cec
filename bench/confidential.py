#!/usr/bin/env python3
"""Throughput of sealed streams (docs/confidential.md): one file sealed and opened file to file.

- `encrypt_mb_s`: `seal_file` of a `--size-mib` random file (read, AES-256-GCM per chunk, write);
- `decrypt_mb_s`: `open_file` of the sealed file (read, authenticate and decrypt, write to a temporary file
  beside the destination, rename).

MB = 10^6 plaintext bytes. Each of `--runs` runs does both; the figures are the median of the runs and
their spread (min, max). Files live in `--dir` (default: /dev/shm, a tmpfs, so the figures measure the
sealing and not the disk; no fsync either way). Each run records the machine's background
(crowdcompute/machine.py): the 1-minute load before and after, and the cores the machine kept busy.
Writes `bench/results/confidential.json` under "throughput", keeping the file's other keys (the e2e
overhead of confidential jobs goes under "overhead").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crowdcompute.machine import measured
from jobs.sealing.stream import DEFAULT_CHUNK_LOG2, open_file, seal_file

RESULTS = Path(__file__).resolve().parent / "results" / "confidential.json"
TARGETS = {"encrypt_mb_s": 500.0, "decrypt_mb_s": 500.0}
CONTEXT = "result|chain=31337|job=1|attempt=1|path=bench.bin"
_MIB = 1 << 20


def _write_source(path: Path, size: int) -> None:
    block = os.urandom(_MIB)  # one random MiB repeated: AES-GCM's speed does not depend on the data
    with path.open("wb") as out:
        for offset in range(0, size, _MIB):
            out.write(block[: min(_MIB, size - offset)])


def measure(size: int, runs: int, workdir: Path, chunk_log2: int = DEFAULT_CHUNK_LOG2) -> dict[str, Any]:
    """Seal and open one `size`-byte file `runs` times in `workdir`; the figures and each run's background."""
    key = os.urandom(32)
    per_run: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-confidential-", dir=workdir) as scratch:
        source, sealed, opened = (Path(scratch) / name for name in ("plain.bin", "sealed.bin", "opened.bin"))
        _write_source(source, size)
        for _ in range(runs):
            _, sealing = measured(lambda: seal_file(source, sealed, key, CONTEXT, chunk_log2=chunk_log2))
            _, opening = measured(lambda: open_file(sealed, opened, key, CONTEXT, what="bench"))
            if opened.stat().st_size != size:
                raise RuntimeError("the opened file is not the size of the plaintext")
            opened.unlink()
            per_run.append(
                {
                    "encrypt_mb_s": round(size / sealing.wall_s / 1e6, 1),
                    "decrypt_mb_s": round(size / opening.wall_s / 1e6, 1),
                    "machine": {"encrypt": sealing.to_json(), "decrypt": opening.to_json()},
                }
            )
    figures: dict[str, Any] = {}
    for name in TARGETS:
        values = [run[name] for run in per_run]
        figures[name] = round(statistics.median(values), 1)
        figures[f"{name}_spread"] = [min(values), max(values)]
    return {
        **figures,
        "file_bytes": size,
        "chunk_bytes": 1 << chunk_log2,
        "runs": per_run,
        "targets": TARGETS,
        "meets_targets": all(figures[name] >= target for name, target in TARGETS.items()),
    }


def merge(output: Path, throughput: dict[str, Any]) -> dict[str, Any]:
    """The results file with "throughput" replaced and every other key kept."""
    document: dict[str, Any] = json.loads(output.read_text()) if output.exists() else {}
    document["throughput"] = throughput
    document.setdefault("overhead", None)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2) + "\n")
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--chunk-log2", type=int, default=DEFAULT_CHUNK_LOG2)
    shm = Path("/dev/shm")
    parser.add_argument("--dir", type=Path, default=shm if shm.is_dir() else Path(tempfile.gettempdir()))
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    figures = measure(args.size_mib * _MIB, args.runs, args.dir, args.chunk_log2)
    throughput = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "storage": f"{args.dir} ({'tmpfs' if _is_tmpfs(args.dir) else 'disk'}), no fsync",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        **figures,
    }
    merge(args.output, throughput)
    print(json.dumps(throughput, indent=2))
    return 0


def _is_tmpfs(path: Path) -> bool:
    """Whether `path` is on a tmpfs (from /proc/mounts: the longest mount point above it)."""
    try:
        mounts = [line.split()[1:3] for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return False
    resolved = str(path.resolve())
    best = max(
        (m for m in mounts if resolved == m[0] or resolved.startswith(m[0].rstrip("/") + "/")),
        key=lambda m: len(m[0]),
        default=None,
    )
    return best is not None and best[1] == "tmpfs"


if __name__ == "__main__":
    sys.exit(main())
