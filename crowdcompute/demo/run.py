"""`crowdcompute demo` from start to clean exit: the stack, the flow, the figures, then hold or leave.

Exit status: 0 when the job ended as expected (accepted and verified; rejected with `--cheat`), and, when
the demo holds the dApp open, after a clean Ctrl-C; 1 when anything failed (the error names it and the
logs stay in `<root>/logs`); 130 when interrupted before the verdict.
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from rich.table import Table

from chain import DEV_PRIVATE_KEYS, REPO_ROOT, ChainError
from cli_support import token_amount
from crowdcompute.demo.errors import DemoError
from crowdcompute.demo.example_jobs import example_schedule
from crowdcompute.demo.figures import committee_text
from crowdcompute.demo.flow import FlowResult, FlowSettings, run_flow
from crowdcompute.demo.narration import Narrator
from crowdcompute.demo.stack import REQUESTER_ACCOUNT, DemoStack
from crowdcompute.requester import RequesterError
from jobs.errors import JobsError

__all__ = ["DEFAULT_ROOT", "DemoOptions", "run_demo"]

DEFAULT_ROOT = REPO_ROOT / "build" / "demo"
# Stale once the chain is gone; logs/ and results/ (the model, report.json) are kept.
_BULKY = ("devnet", "deployments", "store", "gateway", "nodes", "jobs")
_FAILURES = (DemoError, RequesterError, ChainError, JobsError, OSError)


@dataclass(frozen=True)
class DemoOptions:
    root: Path = DEFAULT_ROOT
    exit: bool = False  # leave once the verdict is in, instead of holding the dApp open
    keep: bool = False  # keep every file of the run (chain, store, node folders), not only logs and results
    cheat: bool = False  # one cheating provider instead of two honest ones; the job must end Rejected
    confidential: bool = False  # post the job sealed; the requester's key agent releases its key on claim
    cheat_mode: str = "forge"  # the cheater's trick: forge checkpoints, or withhold a confidential job's keys
    interval: int = 100
    segments: int = 40
    timeout_s: float = 420.0
    verify_blocks: int = (
        FlowSettings.verify_blocks
    )  # the committee's voting window, and the appeal window after it


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def run_demo(options: DemoOptions, narrator: Narrator | None = None) -> int:
    narrator = narrator or Narrator()
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    began = time.monotonic()
    report: dict[str, Any] | None = None
    stack = DemoStack(
        options.root,
        providers=0 if options.cheat else 2,
        validators=3,
        cheaters=1 if options.cheat else 0,
        cheat_mode=options.cheat_mode,
        log=narrator.step,
    )
    try:
        narrator.step(f"starting the marketplace in {stack.root} (every role its own process and key)")
        with stack:
            narrator.good(f"stack up in {stack.started_s:.1f} s; logs in {stack.supervisor.logs}")
            settings = FlowSettings(
                interval=options.interval,
                segments=options.segments,
                timeout_s=options.timeout_s,
                verify_blocks=options.verify_blocks,
                expect="Rejected" if options.cheat else "Accepted",
                reopen_on_failure=not options.cheat,
                confidential=options.confidential,
            )
            result = run_flow(stack, settings, narrator)
            _print_figures(narrator, result, cheat=options.cheat)
            report = {
                **result.to_json(),
                "wall_s": round(time.monotonic() - began, 2),
                "stack_s": round(stack.started_s or 0, 2),
                "rpc_url": stack.rpc_url,
                "gateway_url": stack.gateway_url,
            }
            _save_report(stack.root, report)
            if not options.exit:
                _hold(stack, narrator)
        code = 0
    except KeyboardInterrupt:
        narrator.done_waiting()
        stack.stop()  # already stopped by the stack's __exit__; this only makes sure
        narrator.step("interrupted before the verdict; every process is stopped")
        code = 0 if report is not None else 130
    except _FAILURES as exc:
        narrator.done_waiting()
        narrator.bad(f"{type(exc).__name__}: {exc}")
        narrator.note(f"logs: {stack.supervisor.logs}")
        report = {"state": "Failed", "error": type(exc).__name__, "message": str(exc)}
        code = 1
    if code == 0 and not options.keep:
        for folder in _BULKY:
            shutil.rmtree(stack.root / folder, ignore_errors=True)
    if code == 0:
        narrator.good("every process stopped")
    if report is not None:
        sys.stdout.write(json.dumps(report) + "\n")
        sys.stdout.flush()
    return code


def _hold(stack: DemoStack, narrator: Narrator) -> None:
    """Keep the marketplace up for the dApp until Ctrl-C (or SIGTERM); leave if a process dies."""
    narrator.step(f"the dApp: {stack.gateway_url}/  (RPC {stack.rpc_url}, chain {stack.chain_id})")
    narrator.note(
        f'connect with "Use a local test wallet" (dev account {REQUESTER_ACCOUNT}, the requester), or '
        f"MetaMask on chain {stack.chain_id} with that account's public anvil key "
        f"{DEV_PRIVATE_KEYS[REQUESTER_ACCOUNT]}"
    )
    narrator.note("everything keeps running for you to explore; press Ctrl-C to stop it all")
    try:
        while True:
            stack.check()
            time.sleep(1.0)
    except KeyboardInterrupt:
        narrator.step("stopping every process")


def _print_figures(narrator: Narrator, result: FlowResult, *, cheat: bool) -> None:
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    if result.accuracy is not None:
        table.add_row("accuracy", f"{result.accuracy:.4f} on {result.examples} held-out digits")
    if cheat:
        table.add_row("caught", f"{result.provider} lost {token_amount(result.slashed)} of collateral")
    else:
        table.add_row("paid", f"{result.provider} earned {token_amount(result.paid)}")
    kinds = ", ".join(f"{kind} {gas:,}" for kind, gas in sorted(result.gas.by_kind.items()))
    table.add_row("gas", f"{result.gas.total:,} in {result.gas.transactions} transactions ({kinds})")
    table.add_row("energy", _energy_text(result.energy))
    table.add_row("committee", committee_text(result.committee))
    cost = result.verification
    per = ", ".join(f"{name} {cpu:.1f}" for name, cpu in sorted(cost.cpu_s.items()))
    if cost.ratio is not None and result.provider_cpu_s:
        table.add_row(
            "verification",
            f"validators {cost.total_cpu_s:.1f} CPU s ({per}) vs provider {result.provider_cpu_s:.1f} CPU s: "
            f"{cost.ratio:.2f}x",
        )
    else:
        table.add_row("verification", f"validators {per or 'no record'}")
    t = result.timeline
    phases = [
        ("claim", "posted", "claimed"),
        ("run", "claimed", "submitted"),
        ("verify", "submitted", "closed"),
    ]
    spans = ", ".join(f"{name} {t[b] - t[a]:.1f} s" for name, a, b in phases if a in t and b in t)
    table.add_row("time", f"post to {result.state.lower()} {result.market_s:.1f} s ({spans})")
    narrator.console.print(table)
    interval, segments = example_schedule("digits_mlp")
    if not cheat and result.schedule.get("steps", 0) < interval * segments:
        narrator.note(
            "the verification ratio is high on this short schedule: each replay pays a fixed container and "
            "torch start-up; bench/verification.py measures the full schedule"
        )


def _energy_text(energy: dict[str, Any] | None) -> str:
    if not energy:
        return "not metered"
    kwh = energy.get("kwh")
    joules = energy.get("joules")
    if kwh is None:
        return f"not metered ({energy.get('method')})"
    return f"{kwh * 1000:.4f} Wh ({joules:.0f} J, {energy.get('method')})"


def _save_report(root: Path, report: dict[str, Any]) -> None:
    folder = root / "results"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report, indent=2) + "\n")
