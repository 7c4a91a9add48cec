"""Before a seat is worked on: is there still anything to do? A node never replays for nothing.

A validator restarted after a while, or started on a fresh data folder (it reads the market's whole
history), meets seats whose job is already settled or reopened, or whose voting window has closed.
`finished_seat` reads that from the chain's state of the job, not from the events it happens to have read,
and says what the seat's record becomes instead of a replay.
`tidy_replays` removes, at start, the replay containers an earlier run of the node left behind whose result
can no longer be used; those of seats still open stay, and the verification re-attaches to them.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from chain import ChainError, JobStatus, JobView, MarketClient, enum_label
from jobs.executors import Executor, ExecutorError
from validator.ballot import outcome_of
from validator.reexecute import discard_replay, replays_of
from validator.state import Phase, Verification, VerificationStore

__all__ = ["check_open_seats", "check_seat", "finished_seat", "tidy_replays"]

log = logging.getLogger(__name__)


def finished_seat(record: Verification, view: JobView, head: int) -> Verification | None:
    """What `record` (a seat not voted on yet) becomes when nothing is left to verify, else None."""
    state = view.job.state
    if view.status != JobStatus.SUBMITTED or state.attempts != record.attempt:
        if state.attempts != record.attempt:
            why = f"the job moved on to attempt {state.attempts} before this node verified this one"
        else:
            why = f"the job was {_state_name(view)} before this node verified it"
        return replace(record, phase=Phase.ABSTAINED, reason=why, outcome=outcome_of(view))
    if state.round != record.round:
        why = f"the job was appealed to round {state.round} before this node verified round {record.round}"
        return replace(record, phase=Phase.ABSTAINED, reason=why)
    if head >= record.last_block:
        why = f"the voting window closed at block {record.last_block} before this node verified it"
        return replace(record, phase=Phase.ABSTAINED, reason=why)
    return None


def check_seat(market: MarketClient, state: VerificationStore, record: Verification) -> Verification | None:
    """Read the job from the chain; when the seat is finished, save what it became and return it."""
    done = finished_seat(record, market.job(record.job_id), market.rpc.block_number())
    if done is None:
        return None
    log.info("job %d: nothing to verify: %s", record.job_id, done.reason)
    return state.put(done)


def tidy_replays(executor: Executor, state: VerificationStore, node: str) -> list[str]:
    """Remove this node's replay containers whose result can no longer be used: a seat that is settled,
    closed or signed, an older try, or one this data folder has no record of. Returns the ids removed."""
    try:
        found = replays_of(executor, node)
    except ExecutorError as exc:
        log.warning("cannot list the replays an earlier run may have left: %s", exc)
        return []
    removed = []
    for replay, status in found:
        rounds = state.rounds(replay.job_id, replay.attempt)
        record = rounds[-1] if rounds else None  # the latest round's seat is the one a replay may serve
        if record is None:
            why = "this data folder holds no seat for it"
        elif record.phase is not Phase.PENDING:
            why = (
                f"its seat is {record.phase.value} ({record.reason or record.outcome or 'no replay needed'})"
            )
        elif replay.tries != record.tries:
            why = f"a later try ({record.tries}) replaces it"
        else:
            log.info(
                "job %d: replay %s is %s; its verification re-attaches to it",
                replay.job_id,
                replay.execution_id,
                status,
            )
            continue
        if discard_replay(executor, replay.execution_id, why):
            removed.append(str(replay.execution_id))
    return removed


def check_open_seats(market: MarketClient, state: VerificationStore) -> None:
    """At start: the seats saved as pending whose job has moved on are closed before anything replays."""
    for record in state.records([Phase.PENDING]):
        try:
            check_seat(market, state, record)
        except ChainError as exc:
            log.warning(
                "job %d: cannot read it from the chain (%s); it is checked again before its replay",
                record.job_id,
                exc,
            )


def _state_name(view: JobView) -> str:
    if view.outcome is not None:
        return enum_label(view.outcome)
    return view.closed_by.removeprefix("Job") if view.closed_by else enum_label(view.status)
