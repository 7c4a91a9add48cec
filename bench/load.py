"""Load: 500 jobs posted over 5 minutes into 10 no-op providers and 5 validators; throughput and latencies.

    PYTHONPATH=. .venv/bin/python bench/load.py            # 500 jobs over 300 s, 10 providers, 5 validators
    PYTHONPATH=. .venv/bin/python bench/load.py --quick    # 40 jobs over 30 s, 3 providers, 2 validators

The whole market as processes on one devnet (crowdcompute/load/stack.py): the gateway, providers and
validators with the hidden `--executor noop` (every execution ends at once with the same bytes, so each
validator's `replicate` re-run matches the provider's result without Docker). The requester posts
examples/sleep (mode replicate, committee of 3) at an even rate from its standing allowance and settles each
unanimous acceptance at once, as `crowdcompute job` does. The chain mines a block every second and only then
(`--automine`: the devnet's mixed mining, each transaction mined at once): under load every transaction
would mine a block, and the jobs' voting windows, counted in blocks, would pass in seconds.

Figures (bench/results/load.json):
- `jobs_per_min`: settled jobs per minute in the steady part: the settlement times sorted, the first and last
  10% left out (warm-up, drain), (kept - 1) / (last kept - first kept) x 60. It cannot exceed the offered rate
  (`offered_jobs_per_min`, jobs / post window) by much: a market that keeps up settles as fast as it is fed.
- `most_open_jobs`: the most jobs posted and not yet settled at any moment: bounded when the market keeps
  pace with the posts (about the offered rate x post-to-settle time), growing with the run when it does not;
- `post_to_claim_p50/p99_s`: from the post's receipt to the bench reading the JobClaimed event;
- `submit_to_settle_p50/p99_s`: from ResultSubmitted read to JobFinalized (or expiry) read;
- `gateway_get_jobs_p50/p99_ms`: `GET /jobs?limit=50` timed at `--gateway-rps` during the whole run;
- `jobs_not_settled` after `--drain-s`; `cpu` in the detail: CPU seconds of anvil, the gateway, the providers,
  the validators and the bench over the run; the machine's load (`load_avg_1m_before/after`, `busy_cores`).

Targets (reported, not asserted): jobs_per_min >= 100 on 2 cores; post_to_claim_p99_s <= 3.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chain import REPO_ROOT
from crowdcompute.load import LoadSettings, run_load
from crowdcompute.machine import measured

RESULTS = Path(__file__).resolve().parent / "results" / "load.json"
TARGETS = {"jobs_per_min": 100.0, "post_to_claim_p99_s": 3.0}
CHAIN = {
    "interval": (
        "anvil mining a block every second and only then (automine off): a transaction waits ~0.5 s on "
        "average for its block, as on a chain with 1 s blocks; voting windows (100 blocks) last ~100 s "
        "whatever the load. With the devnet's mixed mining (--automine) every transaction mines a block, so "
        "at this load a 100-block window passes in seconds and committees starved of CPU miss it"
    ),
    "automine": (
        "the devnet's mixed mining: every transaction mined at once, and a block a second on an idle "
        "chain; windows of N blocks shrink with the load"
    ),
}
JOBS_PER_MIN = (
    "settled jobs per minute in the steady part: settlement times sorted, the first and last 10% left out, "
    "(kept - 1) / (last kept - first kept) x 60"
)


def met(figures: dict[str, Any]) -> dict[str, bool]:
    rate, claim = figures["jobs_per_min"], figures["post_to_claim_p99_s"]
    return {
        "jobs_per_min": rate is not None and rate >= TARGETS["jobs_per_min"],
        "post_to_claim_p99_s": claim is not None and claim <= TARGETS["post_to_claim_p99_s"],
        "all_settled": figures["jobs_not_settled"] == 0,
    }


def settings_from(args: argparse.Namespace) -> LoadSettings:
    quick = {"jobs": 40, "post_s": 30.0, "providers": 3, "validators": 2, "drain_s": 60.0}
    chosen = {
        name: getattr(args, name)
        for name in ("jobs", "post_s", "providers", "validators", "drain_s", "verify_blocks", "gateway_rps")
        if getattr(args, name) is not None
    }
    base = quick if args.quick else {}
    return LoadSettings(root=args.root, automine=args.automine, **(base | chosen))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="40 jobs over 30 s, 3 providers, 2 validators")
    parser.add_argument("--jobs", type=int, help="jobs to post (default 500)")
    parser.add_argument(
        "--post-s", type=float, help="post them evenly over this many seconds (default 100, the most)"
    )
    parser.add_argument("--providers", type=int, help="no-op provider daemons (default 10)")
    parser.add_argument("--validators", type=int, help="no-op validator daemons (default 5)")
    parser.add_argument("--drain-s", type=float, help="seconds after the last post to settle (default 120)")
    parser.add_argument(
        "--verify-blocks", type=int, help="each job's voting window in blocks (default 100, the most)"
    )
    parser.add_argument("--gateway-rps", type=float, help="GET /jobs samples per second (default 5)")
    parser.add_argument(
        "--automine", action="store_true", help="the devnet's mixed mining instead of 1 s blocks only"
    )
    parser.add_argument("--root", type=Path, default=REPO_ROOT / "build" / "load")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    settings = settings_from(args)

    result, background = measured(lambda: run_load(settings, say=lambda line: print(line, flush=True)))
    figures = result.figures | {"wall_s": round(background.wall_s, 1), **background.to_json()}
    figures["met"] = met(figures)
    document = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count()},
        "quick": args.quick,
        "chain": {
            "mining": "automine" if settings.automine else "interval",
            "why": CHAIN["automine" if settings.automine else "interval"],
        },
        "definitions": {
            "jobs_per_min": JOBS_PER_MIN,
            "post_to_claim_s": "post receipt -> JobClaimed event read by the bench",
            "submit_to_settle_s": "ResultSubmitted read -> JobFinalized (or JobExpired) read",
        },
        "targets": TARGETS,
        "figures": figures,
        "detail": result.detail,
    }
    print(json.dumps(figures, indent=2), flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(f"wrote {args.output}")
    return 0 if all(figures["met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
