"""End-to-end overhead of the marketplace: the digits training run directly on the host vs through it.

    .venv/bin/python bench/e2e.py [--segments N] [--interval K] [--root build/bench-e2e]

(default: the digits example's own schedule, from its job.toml)

One run, both measurements on the same machine with the same background (the demo stack started and
idle for both):

* `direct_s`: `python train.py` of the pinned digits example on the host (one torch thread, as the
  job's one CPU gets), interpreter start and torch import included: what a user running it alone waits;
* `market_s`: from the requester's submit call (pack, upload through the gateway, post) to the moment
  the chain says Accepted: a provider claims it, runs it in Docker, pins and submits the result, three
  validators re-execute samples in Docker and vote, and the job is finalized;
* `overhead_ratio` = market_s / direct_s and `fixed_overhead_s` = market_s - direct_s, the time the
  marketplace adds to the same training.

`breakdown_s` says where the added time goes (post, claim, the container's start and the packing of the
result, verification). `cpu_share` (CPU seconds per wall second) shows when a run waited for a CPU: with
cgroup v1, Docker's containers together weigh as much as one host process, so on a machine busy with
other work a job container gets far less CPU than the same training run directly. Measure on an
otherwise idle machine; the load average before and after is recorded.

Prints the figures and writes bench/results/e2e.json; targets are reported, not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console

from chain.paths import REPO_ROOT
from crowdcompute.demo.example_jobs import example_schedule
from crowdcompute.demo.flow import FlowSettings, run_flow
from crowdcompute.demo.narration import Narrator
from crowdcompute.demo.stack import DemoStack

RESULTS = Path(__file__).resolve().parent / "results" / "e2e.json"
TARGETS = {"overhead_ratio": 1.15, "fixed_overhead_s": 3.0}


def run_direct(job_dir: Path) -> tuple[float, float]:
    """Wall and CPU seconds of the example's train.py on the host, one torch thread."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROWDCOMPUTE_")}
    with tempfile.TemporaryDirectory(prefix="bench-e2e-direct-") as output:
        env |= {
            "PYTHONPATH": str(REPO_ROOT),
            "TORCH_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "CROWDCOMPUTE_INPUT_DIR": str(job_dir),
            "CROWDCOMPUTE_OUTPUT_DIR": output,
        }
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        subprocess.run(
            [sys.executable, "train.py"], cwd=job_dir, env=env, check=True, stdout=subprocess.DEVNULL
        )
        wall = time.perf_counter() - began
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def breakdown(timeline: dict[str, float], market_s: float, run_s: float | None) -> dict[str, float | None]:
    """Where the time from submit to accepted went, in seconds."""
    posted = timeline.get("posted", 0.0)
    claimed = timeline.get("claimed", posted)
    submitted = timeline.get("submitted", claimed)
    run_phase = submitted - claimed
    return {
        "pack_upload_post": round(posted, 2),
        "claim": round(claimed - posted, 2),
        "container_run": round(run_s, 2) if run_s is not None else None,
        "container_start_pack_pin_submit": round(run_phase - run_s, 2) if run_s is not None else None,
        "verify_vote_finalize": round(market_s - submitted, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    interval, segments = example_schedule("digits_mlp")
    parser.add_argument("--segments", type=int, default=segments, help="default: the example's own")
    parser.add_argument("--interval", type=int, default=interval, help="default: the example's own")
    parser.add_argument("--root", type=Path, default=REPO_ROOT / "build" / "bench-e2e")
    args = parser.parse_args(argv)
    narrator = Narrator(Console(stderr=True, highlight=False, soft_wrap=True), show_job_log=False)

    with DemoStack(args.root, log=narrator.step) as stack:
        job_dir = stack.pinned_example(
            "digits_mlp", args.root / "direct" / "digits_mlp", interval=args.interval, segments=args.segments
        )
        narrator.step(f"direct: train.py on the host ({args.segments} x {args.interval} steps)")
        load_before = os.getloadavg()[0]
        direct_s, direct_cpu_s = run_direct(job_dir)
        narrator.good(f"direct run: {direct_s:.1f} s ({direct_cpu_s:.1f} CPU s)")
        settings = FlowSettings(interval=args.interval, segments=args.segments, timeout_s=900)
        result = run_flow(stack, settings, narrator)
        stack_s = stack.started_s

    market_s = result.market_s
    figures: dict[str, Any] = {
        "direct_s": round(direct_s, 2),
        "market_s": round(market_s, 2),
        "overhead_ratio": round(market_s / direct_s, 3),
        "fixed_overhead_s": round(market_s - direct_s, 2),
        "breakdown_s": breakdown(result.timeline, market_s, result.provider_run_s),
        "direct_cpu_s": round(direct_cpu_s, 2),
        "provider_cpu_s": result.provider_cpu_s,
        # CPU seconds per wall second: below ~0.9 the run waited for a CPU (other load on the machine).
        "cpu_share": {
            "direct": round(direct_cpu_s / direct_s, 2),
            "container": round(result.provider_cpu_s / result.provider_run_s, 2)
            if result.provider_cpu_s and result.provider_run_s
            else None,
        },
        "validator_cpu_s": result.verification.cpu_s,
        "reexec_ratio": round(result.verification.ratio, 4) if result.verification.ratio else None,
        "accuracy": result.accuracy,
        "gas_total": result.gas.total,
        "stack_start_s": round(stack_s or 0.0, 2),
        "schedule": result.schedule,
    }
    met = {
        "overhead_ratio": figures["overhead_ratio"] <= TARGETS["overhead_ratio"],
        "fixed_overhead_s": figures["fixed_overhead_s"] <= TARGETS["fixed_overhead_s"],
    }
    document = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "load_avg_1m_before": round(load_before, 2),
            "load_avg_1m_after": round(os.getloadavg()[0], 2),
        },
        "figures": figures,
        "targets": TARGETS,
        "met": met,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    print(json.dumps(document, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
