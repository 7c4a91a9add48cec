"""After the submission: the provider finalizes its own jobs when nobody else has (it wants to be paid).

The committee's validators finalize first (early, once every seat voted, or when the window closes). A
submitted job still not finalized `finalize_after_blocks` blocks after its window (block > submit block
+ 1 + verify blocks) is finalized here with every vote the gateway reveals (`GET /jobs/{id}/votes`).
Without a gateway, or while it does not reveal the votes, the node waits: finalizing without the votes
would count every seat as silent. A job without a committee (mode none) needs no votes: it is finalized
here after its window. A job settled by someone else first is noted, not an error.

Appeals: below the final round, a round's decision stands only after an appeal window as long as the vote
window. When the round's revealed votes REJECT this node's result (it ran the job itself, so it holds the
result honest), the node appeals within that window, revealing those votes, if the bond is at most
`max_appeal_bond` (None: the job's budget; 0: never): a fresh, larger committee decides next, and the node
finalizes after the last round as before. Without the round's votes (no gateway, or one that refuses the
round) it cannot tell the decision and does not appeal; that is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import requests

from chain import (
    FINAL_ROUND,
    ChainError,
    ContractRevert,
    JobId,
    JobStatus,
    JobView,
    MarketClient,
    Outcome,
    SignedVote,
    VerificationMode,
    Wei,
    appeal_window,
    enum_label,
    round_seats,
    settle_block,
)
from gateway_protocol.votes import VoteRelayError, fetch_votes
from node_base import AppealLimit, appeal_round
from provider_node.state import JobRecord, Phase, StateStore

__all__ = ["SETTLED_NOTE", "Finalizer", "VotesSource"]

log = logging.getLogger(__name__)

SETTLED_NOTE = "settled: "
"""The note of a submitted record whose job is settled (followed by how)."""

VotesSource = Callable[[JobId, int], list[SignedVote] | None]
"""(job id, round) -> the round's revealed votes, None while not revealed; raises `VoteRelayError` or
`requests.RequestException` (the gateway's `GET /jobs/{id}/votes?round=N` by default)."""


class Finalizer:
    def __init__(
        self,
        market: MarketClient,
        state: StateStore,
        gateway_url: str | None,
        after_blocks: int | None,
        *,
        max_appeal_bond: int | None = None,
        votes: VotesSource | None = None,
    ) -> None:
        self.market = market
        self.state = state
        self.gateway_url = gateway_url
        self.after_blocks = after_blocks
        self.max_appeal_bond = max_appeal_bond
        if votes is None and gateway_url:
            url = gateway_url

            def votes(job_id: JobId, round_: int) -> list[SignedVote] | None:
                return fetch_votes(url, job_id, round_=round_)

        self.votes = votes
        self._due: dict[tuple[JobId, int], int] = {}  # the block from which a record is worth a look
        self._judged: set[tuple[JobId, int, int]] = set()  # rounds whose decision this node has acted on
        self._warned = False

    @property
    def appeals(self) -> bool:
        return self.max_appeal_bond != 0

    def settle(self) -> list[JobId]:
        """Finalize this node's submitted jobs that are due (appealing a wrong rejection first); the ids it
        finalized."""
        if self.after_blocks is None and not self.appeals:
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
        if has_committee and state.round < FINAL_ROUND and self.appeals:
            opens, closes = appeal_window(state.submit_block, view.job.spec.verify_blocks)
            if head + 1 < opens:  # the transaction lands in the next block
                self._due[key] = opens - 1
                return False
            if head + 1 <= closes:
                if self._appeal(record, view, head):
                    return False
                if (record.job_id, record.attempt, state.round) not in self._judged:
                    return False  # the round is not judged yet (votes unrevealed, relay down): next block
        if self.after_blocks is None:
            self._due[key] = head + 1
            return False
        last = settle_block(
            state.submit_block, view.job.spec.verify_blocks, state.round, has_committee=has_committee
        )
        due = last + 1 + int(self.after_blocks or 0)
        if head < due:
            self._due[key] = due
            return False
        if view.job.spec.mode == VerificationMode.NONE:
            return self._finalize(record, head, [])
        if self.votes is None:
            if not self._warned:
                log.warning(
                    "job %d: its window is over and nobody finalized it; without a gateway this node cannot "
                    "read the votes, so it leaves finalize to the validators",
                    record.job_id,
                )
                self._warned = True
            return False
        try:
            votes = self.votes(record.job_id, state.round)
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

    def _appeal(self, record: JobRecord, view: JobView, head: int) -> bool:
        """In the appeal window: appeal the round when its revealed votes rejected this node's result and
        the bond is within the limit; True once appealed (the new round is looked at from the next block)."""
        key = (record.job_id, record.attempt)
        round_ = view.job.state.round
        judged = (record.job_id, record.attempt, round_)
        if judged in self._judged:
            return False
        self._due[key] = head + 1  # until the round is judged, look again at every block
        if self.votes is None:
            self._judged.add(judged)
            log.warning(
                "job %d: without a gateway this node cannot read round %d's votes, so it cannot appeal a "
                "wrong rejection",
                record.job_id,
                round_,
            )
            return False
        try:
            votes = self.votes(record.job_id, round_)
        except VoteRelayError as exc:
            if exc.retryable:
                return False
            self._judged.add(judged)
            log.warning(
                "job %d: the gateway refused round %d's votes (%s): this node cannot tell whether the round "
                "rejected its result, so it does not appeal",
                record.job_id,
                round_,
                exc,
            )
            return False
        except requests.RequestException as exc:
            log.warning("job %d: cannot read round %d's votes (%s); trying again", record.job_id, round_, exc)
            return False
        if votes is None:
            return False
        self._judged.add(judged)
        decided = self.market.round_decision(record.job_id, votes)
        if decided != Outcome.REJECTED:
            log.info("job %d: round %d decided %s", record.job_id, round_, enum_label(decided))
            return False
        rejects = sum(1 for vote in votes if not vote.approve)
        limit = (
            AppealLimit(view.job.spec.budget, "the job's budget: --max-appeal-bond not given")
            if self.max_appeal_bond is None
            else AppealLimit(Wei(self.max_appeal_bond))
        )
        what = f"round {round_} REJECTED this node's result ({rejects} reject vote(s)), which it ran itself"
        attempt = appeal_round(
            self.market, record.job_id, votes, limit, what, unappealed="the provider will be slashed", log=log
        )
        if attempt.retryable:
            self._judged.discard(judged)
        appealed = attempt.appealed
        if appealed is None:
            return False
        log.warning(
            "job %d: %s: APPEALED with a bond of %d (tx %s); round %d's %d seats decide next",
            record.job_id,
            what,
            appealed.bond,
            appealed.tx.tx_hash,
            appealed.round,
            round_seats(view.job.spec.committee_size, appealed.round),
        )
        return True

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
