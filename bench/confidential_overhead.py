#!/usr/bin/env python3
"""What sealing costs a whole job: the digits demo job posted confidential vs the same job in the clear.

    .venv/bin/python bench/confidential_overhead.py [--pairs 3] [--segments 40] [--interval 100]

One demo stack (anvil, the gateway, two providers, three validators) runs `--pairs` pairs of the same pinned
digits job, the clear one then the confidential one, back to back. Each side's `market_s` runs from the
requester's submit call (pack, seal, upload, post) to the moment the chain says Accepted; the confidential
side adds the key agent's release after the claim, opening the bundle, sealing the result, the committee's
seals and opening on the validators. `overhead_ratio` = confidential market_s / clear market_s per pair;
the figure is the median over the pairs, with the spread, and each run's machine background
(crowdcompute/machine.py). Writes bench/results/confidential.json under "overhead", keeping "throughput".
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console

from chain import JobId
from crowdcompute.demo.flow import FlowResult, FlowSettings, run_flow
from crowdcompute.demo.narration import Narrator
from crowdcompute.demo.stack import REQUESTER_ACCOUNT, DemoStack
from crowdcompute.machine import measured

RESULTS = Path(__file__).resolve().parent / "results" / "confidential.json"
TARGET_RATIO = 1.03


def _key_gas(stack: DemoStack, job_id: int) -> dict[str, int]:
    """Gas of the job's KeyRelease transactions: the requester's release, the provider's seals (by event)."""
    release = stack.market(REQUESTER_ACCOUNT).key_release()
    gas: dict[str, int] = {}
    for seal in release.sealed_keys(JobId(job_id)):
        kind = "release_key" if seal.recorded is not None else "publish_keys"
        tx = seal.tx_hash
        if f"{kind}:{tx}" in gas:
            continue
        receipt = release.rpc.receipt(tx) or {}
        gas[f"{kind}:{tx}"] = int(str(receipt.get("gasUsed", "0x0")), 16)
    totals: dict[str, int] = {}
    for key, used in gas.items():
        kind = key.split(":")[0]
        totals[kind] = totals.get(kind, 0) + used
    return totals


def _side(stack: DemoStack, settings: FlowSettings, narrator: Narrator) -> dict[str, Any]:
    result, background = measured(lambda: run_flow(stack, settings, narrator))
    assert isinstance(result, FlowResult)
    side: dict[str, Any] = {
        "job_id": result.job_id,
        "market_s": round(result.market_s, 3),
        "provider_run_s": result.provider_run_s,
        "timeline": result.timeline,
        "gas_by_kind": result.gas.by_kind,
        "background": background.to_json(),
    }
    if settings.confidential:
        side["key_gas"] = _key_gas(stack, result.job_id)
    return side


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--segments", type=int, default=FlowSettings.segments)
    parser.add_argument("--interval", type=int, default=FlowSettings.interval)
    parser.add_argument("--root", type=Path, default=None)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    narrator = Narrator(Console(stderr=True), show_job_log=False)
    pairs: list[dict[str, Any]] = []
    root = args.root or Path(tempfile.mkdtemp(prefix="bench-confidential-"))
    with DemoStack(root, log=narrator.step) as stack:
        for index in range(args.pairs):
            sides = {}
            for confidential in (False, True):
                settings = FlowSettings(
                    segments=args.segments, interval=args.interval, confidential=confidential
                )
                sides["confidential" if confidential else "clear"] = _side(stack, settings, narrator)
            ratio = sides["confidential"]["market_s"] / sides["clear"]["market_s"]
            pairs.append({"pair": index, "overhead_ratio": round(ratio, 4), **sides})
            print(
                f"pair {index}: clear {sides['clear']['market_s']:.2f} s, confidential "
                f"{sides['confidential']['market_s']:.2f} s, ratio {ratio:.3f}",
                file=sys.stderr,
            )
    ratios = [p["overhead_ratio"] for p in pairs]
    overhead = {
        "overhead_ratio": round(statistics.median(ratios), 4),
        "overhead_ratio_spread": [min(ratios), max(ratios)],
        "clear_market_s": round(statistics.median(p["clear"]["market_s"] for p in pairs), 3),
        "confidential_market_s": round(statistics.median(p["confidential"]["market_s"] for p in pairs), 3),
        "target": {"overhead_ratio": TARGET_RATIO},
        "meets_target": statistics.median(ratios) <= TARGET_RATIO,
        "schedule": {"segments": args.segments, "interval": args.interval},
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "pairs": pairs,
    }
    document = json.loads(args.output.read_text()) if args.output.is_file() else {}
    document["overhead"] = overhead
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    print(json.dumps({k: v for k, v in overhead.items() if k != "pairs"}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
