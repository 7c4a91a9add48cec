"""How long a developer waits: `make test-fast` (target: under 60 s on 2 cores) and the dApp's first load
(target: under 250 kB gzipped), measured on this checkout.

    python bench/dev_loop.py [--runs 3]

Each run of `make test-fast` is timed whole (setup is a no-op after the first); the machine's load average
is recorded before and after every run, since other work on the machine slows the suite. The first load
is what `npm run size` (frontend/scripts/bundle-size.mjs) measures on a fresh `npm run build`.
Figures: bench/results/dev_loop.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "dev_loop.json"
TARGET_FAST_S = 60.0
TARGET_FIRST_LOAD_KB = 250.0
_PASSED = re.compile(r"(\d+) passed")


def time_fast_tier(runs: int) -> dict[str, object]:
    subprocess.run(["make", "setup"], cwd=ROOT, check=True, capture_output=True)
    walls: list[float] = []
    loads: list[tuple[float, float]] = []
    passed = 0
    for run in range(1, runs + 1):
        before = os.getloadavg()[0]
        started = time.perf_counter()
        done = subprocess.run(["make", "test-fast"], cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - started
        after = os.getloadavg()[0]
        if done.returncode != 0:
            sys.exit(
                f"make test-fast failed (exit {done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-2000:]}"
            )
        found = _PASSED.findall(done.stdout)
        passed = int(found[-1]) if found else 0
        walls.append(wall)
        loads.append((before, after))
        print(f"run {run}/{runs}: {wall:.1f} s, {passed} passed, load {before:.2f} -> {after:.2f}")
    return {
        "runs": runs,
        "wall_s": [round(w, 2) for w in walls],
        "median_s": round(statistics.median(walls), 2),
        "min_s": round(min(walls), 2),
        "max_s": round(max(walls), 2),
        "tests_passed": passed,
        "load_before_after": [[round(a, 2), round(b, 2)] for a, b in loads],
        "target_s": TARGET_FAST_S,
        "met": statistics.median(walls) < TARGET_FAST_S,
    }


def first_load() -> dict[str, object]:
    frontend = ROOT / "frontend"
    subprocess.run(["npm", "run", "build"], cwd=frontend, check=True, capture_output=True)
    subprocess.run(["npm", "run", "size"], cwd=frontend, check=True, capture_output=True)
    figures = json.loads((ROOT / "bench" / "results" / "dapp_bundle.json").read_text())
    size = float(figures["first_load_gzip_kb"])
    print(f"dApp first load: {size:.1f} kB gzipped (target {TARGET_FIRST_LOAD_KB:.0f})")
    return {"first_load_gzip_kb": size, "target_kb": TARGET_FIRST_LOAD_KB, "met": size < TARGET_FIRST_LOAD_KB}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="timed runs of make test-fast")
    args = parser.parse_args()
    figures = {
        "machine": {"cpus": os.cpu_count(), "load_at_start": round(os.getloadavg()[0], 2)},
        "test_fast": time_fast_tier(args.runs),
        "dapp": first_load(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    fast = figures["test_fast"]
    print(
        f"make test-fast: median {fast['median_s']} s (min {fast['min_s']}, max {fast['max_s']}) -> {RESULTS}"
    )


if __name__ == "__main__":
    main()
