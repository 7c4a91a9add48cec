"""One chaos run: start a `ChaosStack`, post jobs while a seeded fault schedule runs, let the market settle,
then read the figures from the chain and the Docker engine.

    result = run_chaos(ChaosSettings(seed=7, root=Path("build/chaos")), say=print)
    result.figures["lost"]   # 0 when every job reached a terminal state

The same seed replays the same fault schedule and the same job mix (`bench/chaos.py --seed N`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from chain import REQUESTER_ACCOUNT, JobId, JobStatus, JobView, MarketClient
from crowdcompute.chaos.engine import EngineWatch, duplicate_runs, orphan_containers
from crowdcompute.chaos.faults import FaultRunner
from crowdcompute.chaos.jobs import JobMix, JobPoster, prepare_jobs
from crowdcompute.chaos.ledger import double_payments, job_states, state_counts, token_accounts
from crowdcompute.chaos.schedule import FAULT_KINDS, FaultKind, fault_schedule
from crowdcompute.chaos.settle import SettleWatcher

__all__ = ["ChaosResult", "ChaosSettings", "replay_hint", "run_chaos"]

DEFAULT_SEED = 16


@dataclass(frozen=True)
class ChaosSettings:
    root: Path
    seed: int = DEFAULT_SEED
    providers: int = 3
    validators: int = 5
    mix: JobMix = field(default_factory=JobMix)
    post_s: float = 60.0  # jobs are posted evenly over this window
    faults_s: float = 90.0  # faults start until this many seconds after the first post
    gap_s: tuple[float, float] = (5.0, 15.0)
    kinds: tuple[FaultKind, ...] = FAULT_KINDS
    settle_timeout_s: float = 180.0
    disk_mib: int = 256
    provider_capacity: int = 2  # jobs a provider holds at once (sleep-bound jobs overlap the others)
    validator_workers: int = 2  # verifications a validator runs at once
    node_poll_s: float = 0.5  # the nodes' idle poll (the demo's 0.25 s is for one job's latency)
    settle_poll_s: float = 0.5  # how often the requester looks at its live jobs


@dataclass
class ChaosResult:
    seed: int
    figures: dict[str, Any]
    detail: dict[str, Any]

    @property
    def failures(self) -> list[str]:
        """The targets this run missed, in words (empty when it met them all)."""
        f = self.figures
        missed = []
        if f["lost"]:
            missed.append(f"lost {f['lost']} job(s) (non-terminal at the end): {self.detail['lost_jobs']}")
        if f["jobs_posted"] != f["jobs_planned"]:
            missed.append(
                f"posted {f['jobs_posted']} of {f['jobs_planned']} jobs: {self.detail['post_failures']}"
            )
        if f["double_paid"]:
            missed.append(f"double_paid {f['double_paid']}: {self.detail['double_paid_jobs']}")
        if f["duplicate_runs"]:
            missed.append(f"duplicate_runs {f['duplicate_runs']}: {self.detail['duplicate_attempts']}")
        if f["orphan_containers"]:
            missed.append(f"orphan_containers {f['orphan_containers']}: {self.detail['orphans']}")
        if not f["tokens_conserved"]:
            missed.append(f"tokens not conserved: {self.detail['tokens']}")
        return missed


def replay_hint(seed: int) -> str:
    return f"replay it with `PYTHONPATH=. .venv/bin/python bench/chaos.py --seed {seed}`"


def run_chaos(settings: ChaosSettings, say: Callable[[str], None] = lambda _line: None) -> ChaosResult:
    from crowdcompute.chaos.stack import ChaosStack  # the Docker SDK and the stack only when run

    schedule = fault_schedule(
        settings.seed,
        faults_s=settings.faults_s,
        providers=settings.providers,
        validators=settings.validators,
        gap_s=settings.gap_s,
        kinds=settings.kinds,
    )
    say(
        f"seed {settings.seed}: {len(schedule)} faults, {settings.mix.count} jobs "
        f"({replay_hint(settings.seed)})"
    )
    for fault in schedule:
        say(f"  {fault.describe()}")
    stack = ChaosStack(
        settings.root,
        providers=settings.providers,
        validators=settings.validators,
        disk_mib=settings.disk_mib,
        log=say,
        provider_capacity=settings.provider_capacity,
        validator_workers=settings.validator_workers,
        poll_interval_s=settings.node_poll_s,
    )
    with stack:
        watch = EngineWatch(stack.root).start()
        try:
            requester = stack.market(REQUESTER_ACCOUNT)
            folders = prepare_jobs(
                stack.root / "jobs", stack.runtime_image_id, settings.mix, image=stack.image_tag
            )
            poster = JobPoster(requester, stack.store_dir, folders, settings.mix, settings.post_s, say=say)
            runner = FaultRunner(stack, schedule, say=say)
            origin = time.monotonic()
            # The requester's own watcher: its own job cache, the poster's nonces (one account, one sender).
            watcher = SettleWatcher(
                _same_account(requester),
                stack.gateway_url,
                origin,
                lambda: poster.posted,
                poll_s=settings.settle_poll_s,
            )
            poster.start(origin)
            watcher.start()
            try:
                last_fault_end = runner.run(origin)
                poster.join()
                say(
                    f"faults over at t+{last_fault_end - origin:.1f}s; "
                    f"the market has {settings.settle_timeout_s:g} s to settle"
                )
                job_ids = [record.job_id for record in poster.posted]
                _settle(watcher, job_ids, runner, last_fault_end + settings.settle_timeout_s)
            finally:
                watcher.stop()
            closed_at = watcher.closed_at()
            settled_at = max(closed_at.values(), default=last_fault_end)
            views = job_states(requester, job_ids)
            tokens = token_accounts(requester, views)
            paid_wrong = double_payments(views)
            stack.supervisor.stop_all()  # the nodes stop as an operator stops them; then what is left?
            orphans = orphan_containers(stack.root)
        finally:
            watch.stop()
    duplicates = duplicate_runs(watch.exited)
    lost = {job_id: _state(view) for job_id, view in views.items() if view.status != JobStatus.CLOSED}
    figures = {
        "seed": settings.seed,
        "jobs_planned": settings.mix.count,
        "jobs_posted": len(job_ids),
        "jobs_settled": len(job_ids) - len(lost),
        "lost": len(lost),
        "double_paid": len(paid_wrong),
        "duplicate_runs": sum(duplicates.values()),
        "tokens_conserved": tokens.conserved,
        "orphan_containers": len(orphans),
        "time_to_settle_s": round(max(0.0, settled_at - last_fault_end), 2) if not lost else None,
        "accepted_early": watcher.accepted_early(),
        "faults": runner.counts(),
        "states": state_counts(views),
    }
    detail = {
        "schedule": [fault.to_json() for fault in schedule],
        "faults_skipped": runner.skipped(),
        "restarts_outside_faults": runner.restarts_outside_faults,
        "rpc_connections_refused": stack.proxy.refused if stack.proxy else 0,
        "lost_jobs": lost,
        "double_paid_jobs": paid_wrong,
        "duplicate_attempts": duplicates,
        "orphans": orphans,
        "tokens": tokens.to_json(),
        "containers_started": watch.started,
        "containers_exited": len(watch.exited),
        "last_fault_end_s": round(last_fault_end - origin, 2),
        "settle_path": _settle_path(watcher, last_fault_end - origin),
        "timeline": watcher.timeline(),
        "requester_finalized_late": watcher.finalized_late,
        "settle_watcher_errors": watcher.errors,
        "post_retries": poster.retries,
        "post_failures": poster.failures,
        "settings": _settings_json(settings),
        "logs": str(stack.supervisor.logs),
    }
    return ChaosResult(settings.seed, figures, detail)


def _settle(watcher: SettleWatcher, job_ids: list[JobId], runner: FaultRunner, deadline: float) -> None:
    """Wait until the watcher saw every job closed, or until `deadline` (monotonic); meanwhile start again any
    process that died outside a fault."""
    while not watcher.all_closed(job_ids) and time.monotonic() < deadline:
        runner.revive()
        time.sleep(0.25)


def _same_account(market: MarketClient) -> MarketClient:
    """Another client for `market`'s account: its own job cache, the same transaction sender (nonces)."""
    return MarketClient(market.rpc, market.deployment, sender=market.sender, account=market.account)


def _settle_path(watcher: SettleWatcher, last_fault_s: float) -> dict[str, Any]:
    """Where the time after the last fault went: the last job to close, and how many jobs were still
    waiting for a provider, running, or waiting for their verdict when the faults ended."""
    lines = watcher.timeline()
    closed = [line for line in lines if line["closed_s"] is not None]
    last = max(closed, key=lambda line: line["closed_s"], default=None)

    def at_last_fault(line: dict[str, Any]) -> str:
        for phase, key in (("closed", "closed_s"), ("verifying", "submitted_s"), ("running", "claimed_s")):
            if line[key] is not None and line[key] <= last_fault_s:
                return phase
        return "unclaimed"

    phases: dict[str, int] = {}
    for line in lines:
        phase = at_last_fault(line)
        phases[phase] = phases.get(phase, 0) + 1
    return {"at_last_fault": phases, "last_job": last}


def _state(view: JobView) -> str:
    from crowdcompute.requester import state_of

    return state_of(view)


def _settings_json(settings: ChaosSettings) -> dict[str, Any]:
    document = asdict(settings)
    document["root"] = str(settings.root)
    return document
