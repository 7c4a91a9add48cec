"""One chaos run: start a `ChaosStack`, post jobs while a seeded fault schedule runs, let the market settle,
then read the figures from the chain and the Docker engine.

    result = run_chaos(ChaosSettings(seed=7, root=Path("build/chaos")), say=print)
    result.figures["lost"]   # 0 when every job reached a terminal state

The same seed replays the same fault schedule and the same job mix (`bench/chaos.py --seed N`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from chain import REQUESTER_ACCOUNT, ChainError, JobId, JobStatus, JobView
from crowdcompute.chaos.engine import EngineWatch, duplicate_runs, orphan_containers
from crowdcompute.chaos.faults import FaultRunner
from crowdcompute.chaos.jobs import JobMix, JobPoster, prepare_jobs
from crowdcompute.chaos.ledger import double_payments, job_states, state_counts, token_accounts
from crowdcompute.chaos.schedule import FAULT_KINDS, FaultKind, fault_schedule

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
            poster.start(origin)
            last_fault_end = runner.run(origin)
            poster.join()
            say(
                f"faults over at t+{last_fault_end - origin:.1f}s; "
                f"the market has {settings.settle_timeout_s:g} s to settle"
            )
            job_ids = [record.job_id for record in poster.posted]
            views, settled_at = _settle(requester, job_ids, runner, last_fault_end, settings.settle_timeout_s)
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
        "post_retries": poster.retries,
        "post_failures": poster.failures,
        "settings": _settings_json(settings),
        "logs": str(stack.supervisor.logs),
    }
    return ChaosResult(settings.seed, figures, detail)


def _settle(
    market: Any, job_ids: list[JobId], runner: FaultRunner, since: float, timeout_s: float
) -> tuple[dict[JobId, JobView], float]:
    """Wait until every job is terminal or `timeout_s` after `since`; expire jobs whose provider missed the
    deadline (as any requester's keeper would). Returns the last views and when the last job closed."""
    closed_at: dict[JobId, float] = {}
    deadline = since + timeout_s
    while True:
        views = job_states(market, job_ids)
        now = time.monotonic()
        for job_id, view in views.items():
            if view.status == JobStatus.CLOSED:
                closed_at.setdefault(job_id, now)
        if len(closed_at) == len(job_ids) or now >= deadline:
            return views, max(closed_at.values(), default=since)
        runner.revive()
        _expire_overdue(market, views)
        time.sleep(1.0)


def _expire_overdue(market: Any, views: dict[JobId, JobView]) -> None:
    overdue = [v for v in views.values() if v.status == JobStatus.CLAIMED and v.job.state.deadline > 0]
    if not overdue:
        return
    now = int(market.rpc.w3.eth.get_block("latest")["timestamp"])
    for view in overdue:
        if now > view.job.state.deadline:
            with contextlib.suppress(ChainError):
                market.expire_job(view.job_id)


def _state(view: JobView) -> str:
    from crowdcompute.requester import state_of

    return state_of(view)


def _settings_json(settings: ChaosSettings) -> dict[str, Any]:
    document = asdict(settings)
    document["root"] = str(settings.root)
    return document
