"""What a (re)started node does with the jobs its state file says it holds, checked against the chain.

For each active record the chain decides first: a job no longer claimed by this node (submitted already,
expired, reopened, cancelled) is closed in the state file; a job whose deadline passed is given up (its
container stopped, nothing submitted: it can only expire). Otherwise the job resumes where it stopped:
a running execution is re-attached by its execution id (the executor finds its container by labels), an
execution that vanished is started again, a finished result is submitted. Containers of this node that no
record claims are stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from chain import ChainError, JobNotFound, JobStatus, MarketClient, enum_label
from jobs.executors import ExecutionId, Executor, ExecutorError, RunningExecution
from provider_node.state import JobRecord, Phase, StateStore

__all__ = ["Resume", "reconcile_claim", "recover", "stop_execution"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resume:
    """A job to hand back to a runner; `reattach` when its execution is still on the engine."""

    record: JobRecord
    reattach: bool


def stop_execution(executor: Executor, execution_id: ExecutionId) -> None:
    """Stop an execution left by an earlier run of the node (its container is then removed)."""
    try:
        executor.reattach(execution_id)
        executor.cancel(execution_id)
        executor.wait(execution_id, timeout=30)
    except ExecutorError as exc:
        log.warning("could not stop execution %s: %s", execution_id, exc)


def reconcile_claim(market: MarketClient, state: StateStore, record: JobRecord) -> JobRecord:
    """A claim whose outcome is unknown (sent, then a crash or an RPC failure): ask the chain."""
    try:
        view = market.job(record.job_id)
    except JobNotFound:
        return state.update(record, phase=Phase.LOST, note="the job does not exist")
    job = view.job
    if view.status == JobStatus.CLAIMED and job.state.provider == market.me:
        log.info("job %d: the claim went through", record.job_id)
        return state.update(record, phase=Phase.CLAIMED, deadline=job.state.deadline)
    return state.update(
        record, phase=Phase.LOST, note=f"the claim did not go through (job is {view.status.name})"
    )


def recover(
    market: MarketClient,
    state: StateStore,
    executor: Executor,
    chain_time: Callable[[], int],
) -> list[Resume]:
    """Settle every active record against the chain; returns the jobs to resume."""
    try:
        found: dict[ExecutionId, RunningExecution] = {e.execution_id: e for e in executor.find_running()}
    except ExecutorError as exc:
        log.warning("could not list this node's executions: %s", exc)
        found = {}
    now = chain_time()
    resumes: list[Resume] = []
    for record in state.active():
        try:
            resume = _recover_one(market, state, record, found, now)
        except ChainError as exc:
            log.warning(
                "job %d: cannot check it on chain now (%s); resuming it as recorded", record.job_id, exc
            )
            resume = Resume(record, record.execution_id in found)
        if resume is not None:
            resumes.append(resume)
            continue
        refreshed = state.get(record.job_id) or record
        if refreshed.execution_id is not None and refreshed.execution_id in found:
            stop_execution(executor, refreshed.execution_id)
    claimed = {r.record.execution_id for r in resumes}
    for execution_id, execution in found.items():
        if execution_id not in claimed:
            log.info(
                "stopping execution %s (job %s): no active job of this node owns it",
                execution_id,
                execution.job_id,
            )
            stop_execution(executor, execution_id)
    return resumes


def _recover_one(
    market: MarketClient,
    state: StateStore,
    record: JobRecord,
    found: dict[ExecutionId, RunningExecution],
    now: int,
) -> Resume | None:
    if record.phase is Phase.CLAIMING:
        record = reconcile_claim(market, state, record)
        if not record.active:
            return None
    view = market.job(record.job_id)
    job = view.job
    mine = job.state.provider == market.me and job.state.attempts == record.attempt
    if view.status == JobStatus.SUBMITTED and mine:
        state.update(record, phase=Phase.SUBMITTED, note="found submitted on chain")
        log.info("job %d: its result was submitted before the restart", record.job_id)
        return None
    if view.status != JobStatus.CLAIMED or not mine:
        how = view.closed_by or enum_label(view.status)
        state.update(record, phase=Phase.EXPIRED, note=f"no longer this node's job on chain ({how})")
        log.warning("job %d: no longer this node's job on chain (%s); dropping it", record.job_id, how)
        return None
    if now > job.state.deadline:
        state.update(record, phase=Phase.EXPIRED, note="the deadline passed while the node was down")
        log.warning(
            "job %d: its deadline %d passed while the node was down; submitting nothing (it can only expire)",
            record.job_id,
            job.state.deadline,
        )
        return None
    if record.phase is Phase.RUNNING and record.execution_id not in found:
        log.warning(
            "job %d: execution %s vanished while the node was down; starting it again",
            record.job_id,
            record.execution_id,
        )
        record = state.update(record, phase=Phase.CLAIMED)
    reattach = record.phase is Phase.RUNNING
    if reattach:
        log.info("job %d: re-attaching to execution %s", record.job_id, record.execution_id)
    elif record.phase is Phase.FINISHED:
        log.info("job %d: its result waits for submission; submitting it", record.job_id)
    return Resume(record, reattach)
