"""Chaos: the whole market under a seeded fault schedule; what was lost, paid twice, run twice or leaked.

    PYTHONPATH=. .venv/bin/python bench/chaos.py                 # the default seed
    PYTHONPATH=. .venv/bin/python bench/chaos.py --seeds 4       # the default seed and 3 more
    PYTHONPATH=. .venv/bin/python bench/chaos.py --seed 1234     # replay one seed's schedule

A stack of 3 providers, 5 validators and the gateway as processes (crowdcompute/chaos/stack.py) runs
`--jobs` jobs (short digits schedules and sleep-bound jobs, posted over `--post-s`) while a fault every
5-15 s, for `--faults-s`, SIGKILLs and restarts a provider, a validator or the gateway, cuts the nodes'
RPC link through a proxy for 2-10 s, stalls the gateway (SIGSTOP) and fills a provider's disk (a tmpfs
as root; skipped with its reason otherwise). Then the market has `--settle-timeout` seconds.

Figures per seed: jobs_posted, jobs_settled, lost, double_paid, duplicate_runs (from the Docker engine's
events), tokens_conserved (supply = every holder's balance, and the market's balance = what it owes),
orphan_containers, time_to_settle_s after the last fault ended, accepted_early (jobs the requester
settled as soon as every seat approved, as a real requester does: crowdcompute/chaos/settle.py), and the
machine's load (`load_avg_1m_before/after`, `busy_cores`: the CPUs the whole machine kept busy on
average). Each run's detail holds every job's timeline and `settle_path` (what the jobs were doing when the
faults ended, and the last job to close). Written to bench/results/chaos.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from chain import REPO_ROOT
from crowdcompute.chaos import DEFAULT_SEED, ChaosSettings, JobMix, replay_hint, run_chaos
from crowdcompute.machine import measured

RESULTS = Path(__file__).resolve().parent / "results" / "chaos.json"
TARGETS = {
    "lost": 0,
    "double_paid": 0,
    "duplicate_runs": 0,
    "orphan_containers": 0,
    "tokens_conserved": True,
    "time_to_settle_s": 60.0,
}


def _print(line: str) -> None:
    print(line, flush=True)


def met(figures: dict[str, Any]) -> dict[str, bool]:
    settle = figures["time_to_settle_s"]
    return {
        "jobs_settled": figures["jobs_settled"] == figures["jobs_posted"] == figures["jobs_planned"],
        "lost": figures["lost"] == 0,
        "double_paid": figures["double_paid"] == 0,
        "duplicate_runs": figures["duplicate_runs"] == 0,
        "orphan_containers": figures["orphan_containers"] == 0,
        "tokens_conserved": figures["tokens_conserved"] is True,
        "time_to_settle_s": settle is not None and settle <= TARGETS["time_to_settle_s"],
    }


def seeds_for(first: int, count: int) -> list[int]:
    """`first`, then `count - 1` more drawn from it (the same list every time)."""
    rng = random.Random(first)
    return [first, *(rng.randrange(1, 1_000_000) for _ in range(count - 1))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="the fault schedule's seed")
    parser.add_argument("--seeds", type=int, default=1, help="run the seed and this many minus one more")
    parser.add_argument("--jobs", type=int, default=30)
    parser.add_argument("--providers", type=int, default=3)
    parser.add_argument("--validators", type=int, default=5)
    parser.add_argument("--post-s", type=float, default=60.0, help="post the jobs evenly over this window")
    parser.add_argument("--faults-s", type=float, default=90.0, help="faults begin until this time")
    parser.add_argument("--settle-timeout", type=float, default=180.0, help="seconds to settle after faults")
    parser.add_argument(
        "--verify-blocks",
        type=int,
        default=JobMix.verify_blocks,
        help="each job's voting window in blocks (the devnet mines a block per transaction too)",
    )
    parser.add_argument(
        "--provider-capacity",
        type=int,
        default=ChaosSettings.provider_capacity,
        help="jobs each provider holds at once (provider run --capacity)",
    )
    parser.add_argument(
        "--validator-workers",
        type=int,
        default=ChaosSettings.validator_workers,
        help="verifications each validator runs at once (validator run --workers)",
    )
    parser.add_argument("--root", type=Path, default=REPO_ROOT / "build" / "chaos")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    runs = []
    for seed in seeds_for(args.seed, args.seeds):
        settings = ChaosSettings(
            root=args.root / f"seed-{seed}",  # each seed keeps its logs
            seed=seed,
            providers=args.providers,
            validators=args.validators,
            mix=JobMix(count=args.jobs, verify_blocks=args.verify_blocks),
            post_s=args.post_s,
            faults_s=args.faults_s,
            settle_timeout_s=args.settle_timeout,
            provider_capacity=args.provider_capacity,
            validator_workers=args.validator_workers,
        )
        result, background = measured(partial(run_chaos, settings, say=_print))
        figures = result.figures | {"wall_s": round(background.wall_s, 1), **background.to_json()}
        figures["met"] = met(figures)
        runs.append({"figures": figures, "detail": result.detail})
        print(json.dumps(figures, indent=2), flush=True)
        print(f"after the last fault: {json.dumps(result.detail['settle_path'])}", flush=True)
        for problem in result.failures:
            print(f"seed {seed}: {problem}; {replay_hint(seed)}", flush=True)

    settles = [r["figures"]["time_to_settle_s"] for r in runs if r["figures"]["time_to_settle_s"] is not None]
    document = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count()},
        "targets": TARGETS,
        "seeds": [r["figures"]["seed"] for r in runs],
        "all_met": all(all(r["figures"]["met"].values()) for r in runs),
        "time_to_settle_s": {
            "min": min(settles, default=None),
            "median": statistics.median(settles) if settles else None,
            "max": max(settles, default=None),
        },
        "runs": runs,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(f"wrote {args.output}")
    return 0 if document["all_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
