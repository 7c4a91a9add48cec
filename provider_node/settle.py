"""After the submission: the provider finalizes its own jobs when nobody else has (it wants to be paid).

The committee's validators finalize first (early, once every seat voted, or when the window closes). A
submitted job still not finalized `finalize_after_blocks` blocks after its window (block > submit block
+ 1 + verify blocks) is finalized here with every vote the gateway reveals (`GET /jobs/{id}/votes`).
Without a gateway, or while it does not reveal the votes, the node waits: finalizing without the votes
would count every seat as silent. A job without a committee (mode none) needs no votes: it is finalized
here after its window. A job settled by someone else first is noted, not an error.
"""

from __future__ import annotations

import logging

import requests

from chain import (
    ChainError,
    ContractRevert,
    JobId,
    JobStatus,
    MarketClient,
    SignedVote,
    VerificationMode,
    enum_label,
    settle_block,
)
from gateway_protocol.votes import VoteRelayError, fetch_votes
from provider_node.state import JobRecord, Phase, StateStore

__all__ = ["SETTLED_NOTE", "Finalizer"]

log = logging.getLogger(__name__)

SETTLED_NOTE = "settled: "
"""The note of a submitted record whose job is settled (followed by how)."""


class Finalizer:
    def __init__(
        self, market: MarketClient, state: StateStore, gateway_url: str | None, after_blocks: int | None
    ) -> None:
        self.market = market
        self.state = state
        self.gateway_url = gateway_url
        self.after_blocks = after_blocks
        self._due: dict[tuple[JobId, int], int] = {}  # the block from which a record is worth a look
        self._warned = False

    def settle(self) -> list[JobId]:
        """Finalize this node's submitted jobs that are due; the ids it finalized."""
        if self.after_blocks is None:
            return []
        records = [r for r in self.state.records([Phase.SUBMITTED]) if not r.note.startswith(SETTLED_NOTE)]
        if not records:
            return []
        head = self.market.rpc.block_number()
        done: list[JobId] = []
        for record in records:
            key = (record.job_id, record.attempt)
            if self._due.get(key, 0) > head:
                continue
            try:
                if self._settle(record, head):
                    done.append(record.job_id)
            except ChainError as exc:
                log.warning("job %d: cannot finalize it now (%s)", record.job_id, exc)
        return done

    def _settle(self, record: JobRecord, head: int) -> bool:
        key = (record.job_id, record.attempt)
        view = self.market.job(record.job_id)
        state = view.job.state
        if view.status != JobStatus.SUBMITTED or state.attempts != record.attempt:
            how = enum_label(view.outcome) if view.outcome is not None else enum_label(view.status)
            self.state.update(record, note=f"{SETTLED_NOTE}{how}")
            self._due.pop(key, None)
            return False
        has_committee = view.job.spec.mode != VerificationMode.NONE
        last = settle_block(
            state.submit_block, view.job.spec.verify_blocks, state.round, has_committee=has_committee
        )
        due = last + 1 + int(self.after_blocks or 0)
        if head < due:
            self._due[key] = due
            return False
        if view.job.spec.mode == VerificationMode.NONE:
            return self._finalize(record, head, [])
        if not self.gateway_url:
            if not self._warned:
                log.warning(
                    "job %d: its window is over and nobody finalized it; without a gateway this node cannot "
                    "read the votes, so it leaves finalize to the validators",
                    record.job_id,
                )
                self._warned = True
            return False
        try:
            votes = fetch_votes(self.gateway_url, record.job_id)
        except (VoteRelayError, requests.RequestException) as exc:
            log.warning(
                "job %d: cannot read its votes from the gateway (%s); trying later", record.job_id, exc
            )
            self._due[key] = head + 1
            return False
        if votes is None:
            self._due[key] = head + 1
            return False
        return self._finalize(record, head, votes)

    def _finalize(self, record: JobRecord, head: int, votes: list[SignedVote]) -> bool:
        key = (record.job_id, record.attempt)
        try:
            finalized = self.market.finalize(record.job_id, votes)
        except ContractRevert as exc:
            log.info(
                "job %d: finalize refused (%s); someone else may have settled it", record.job_id, exc.message
            )
            self._due[key] = head + 1
            return False
        outcome = enum_label(finalized.outcome)
        self.state.update(record, note=f"{SETTLED_NOTE}{outcome} (finalized by this node)")
        log.info(
            "job %d: finalized it with %d revealed vote(s): %s (%d accept, %d reject)",
            record.job_id,
            len(votes),
            outcome,
            finalized.accepts,
            finalized.rejects,
        )
        return True
