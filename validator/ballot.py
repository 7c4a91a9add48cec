"""After the vote: settling decided jobs, and the small conversions between records and the chain.

`Settler.settle()` finalizes the jobs this node took a seat on once a side holds a majority or the
window has closed. A majority with seats still voting waits `finalize_grace_s` first: a vote arriving
after finalize is refused, and an honest but slower validator would lose its fee.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from chain import ChainError, ContractRevert, Evidence, JobId, JobStatus, JobView, MarketClient, VoteReason
from validator.config import ValidatorConfig
from validator.state import Phase, Verification, VerificationStore

__all__ = ["Settler", "evidence_of", "outcome_of", "settled"]

log = logging.getLogger(__name__)


def evidence_of(record: Verification) -> Evidence:
    """The vote's evidence as the contract takes it, from the record's saved hex (none: all zero)."""
    if record.evidence is None:
        return Evidence(0, bytes(32), bytes(32))
    data = record.evidence
    return Evidence(
        int(data["segment"]),
        bytes.fromhex(data["committed"]),
        bytes.fromhex(data["recomputed"]),
        VoteReason(int(data.get("reason", VoteReason.RECOMPUTED))),
    )


def outcome_of(view: JobView) -> str:
    return view.outcome.name.lower() if view.outcome is not None else "closed"


def settled(record: Verification, outcome: str) -> Verification:
    """The record once its job is settled: a sent vote becomes `finalized`, a seat not verified yet
    `abstained` (nothing to replay any more); other phases stay."""
    if record.phase is Phase.PENDING:
        reason = f"the job was settled ({outcome}) before this node verified it"
        return replace(record, phase=Phase.ABSTAINED, outcome=outcome, reason=reason)
    phase = Phase.FINALIZED if record.phase in (Phase.VOTED, Phase.VOTING) else record.phase
    return replace(record, phase=phase, outcome=outcome)


class Settler:
    def __init__(self, market: MarketClient, state: VerificationStore, config: ValidatorConfig) -> None:
        self.market = market
        self.state = state
        self.config = config
        self._decided_at: dict[tuple[JobId, int], float] = {}

    def settle(self) -> list[JobId]:
        """Finalize what is ready; the ids of the jobs this call finalized."""
        finalized: list[JobId] = []
        head: int | None = None
        for record in self.state.records([Phase.VOTED, Phase.ABSTAINED]):
            if record.outcome:
                continue
            try:
                view = self.market.job(record.job_id)
            except ChainError:
                continue
            if view.status != JobStatus.SUBMITTED or view.job.state.attempts != record.attempt:
                self.state.put(settled(record, outcome_of(view)))
                continue
            head = head if head is not None else self.market.rpc.block_number()
            if not self._ready(record, view, head):
                continue
            try:
                done = self.market.finalize(record.job_id)
            except ContractRevert as exc:
                log.debug(
                    "job %d: finalize refused (%s); someone else may have settled it",
                    record.job_id,
                    exc.message,
                )
                continue
            outcome = done.outcome.name.lower()
            self.state.put(settled(record, outcome))
            finalized.append(record.job_id)
            log.info(
                "job %d: finalized: %s (%d accept, %d reject)",
                record.job_id,
                outcome,
                done.accepts,
                done.rejects,
            )
        return finalized

    def _ready(self, record: Verification, view: JobView, head: int) -> bool:
        seats = min(view.job.spec.committee_size, view.job.state.validator_count)
        accepts, rejects = view.votes
        decided = max(accepts, rejects) > seats // 2
        window_open = head + 1 <= record.last_block
        if not window_open:
            return True
        if not decided:
            return False
        if accepts + rejects >= seats:
            return True
        first_seen = self._decided_at.setdefault((record.job_id, record.attempt), time.monotonic())
        # give the seats still re-executing time to vote (and be paid)
        return time.monotonic() - first_seen >= self.config.finalize_grace_s
