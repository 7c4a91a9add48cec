"""After the verdict: the signed votes a record keeps, finalizing, and the small record conversions.

`Settler.settle()` finalizes the jobs this node sat on once the gateway reveals their votes: after the
window (block > submit block + 1 + verify blocks), or earlier once every seat has voted (the contract
refuses an early finalize with a seat still silent, so nobody's fee is cut short). It calls
`finalize(job_id, votes)` with every vote the gateway revealed plus this node's own. Every seat-holder
tries; the first transaction wins and the others find the job settled, which is logged, not an error.
A gateway that cannot be reached once the window has closed does not hold the job up: the node finalizes
with the votes it holds (its own), and says that the other seats count as silent.

Rounds: below the final round, `finalize` waits for the appeal window too (as long as the vote window). In it,
a node whose vote lost the round (the revealed votes decided the other way, or nothing) appeals it, revealing
the round's votes, when the bond is at most `max_appeal_bond` (None, the default: the seat bond it stands to
lose in that round, `chain.seat_bond`; 0: never); a round appealed by anyone is left alone (its seats are
settled with the final outcome) and the next round's record takes over.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import replace

from chain import (
    FINAL_ROUND,
    ChainError,
    ContractRevert,
    Evidence,
    JobId,
    JobStatus,
    JobView,
    MarketClient,
    Outcome,
    SignedVote,
    VoteReason,
    Wei,
    appeal_window,
    seat_bond,
    settle_block,
)
from node_base import AppealLimit, appeal_round
from validator.config import ValidatorConfig
from validator.relay import RelayRefused, RelayUnavailable, VoteRelay
from validator.state import Phase, Verification, VerificationStore

__all__ = ["Settler", "evidence_of", "outcome_of", "settled", "votes_of"]

log = logging.getLogger(__name__)

# While the window is open, the gateway is asked at most this often whether every seat has voted.
_EARLY_CHECK_S = 1.0
_UNAPPEALED = "this node's seats in the round lose their bond if the final outcome is the round's decision"


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


def votes_of(record: Verification) -> list[SignedVote]:
    """The signed votes the record keeps (one per seat; none for an abstention)."""
    return [SignedVote.from_json(vote) for vote in record.votes or []]


def outcome_of(view: JobView) -> str:
    return view.outcome.name.lower() if view.outcome is not None else "closed"


def settled(record: Verification, outcome: str) -> Verification:
    """The record once its job is settled: a signed vote becomes `finalized`, a seat not verified yet
    `abstained` (nothing to replay any more); other phases stay."""
    if record.phase in (Phase.PENDING, Phase.DRAWING):
        reason = f"the job was settled ({outcome}) before this node verified it"
        return replace(record, phase=Phase.ABSTAINED, outcome=outcome, reason=reason)
    phase = Phase.FINALIZED if record.phase in (Phase.VOTED, Phase.VOTING) else record.phase
    return replace(record, phase=phase, outcome=outcome)


def merged(revealed: Iterable[SignedVote], own: Iterable[SignedVote]) -> list[SignedVote]:
    """One vote per seat, this node's own where it has one (what it signed itself is what it reveals)."""
    by_seat = {vote.seat: vote for vote in revealed}
    by_seat.update({vote.seat: vote for vote in own})
    return [by_seat[seat] for seat in sorted(by_seat)]


class Settler:
    def __init__(
        self, market: MarketClient, state: VerificationStore, config: ValidatorConfig, relay: VoteRelay
    ) -> None:
        self.market = market
        self.state = state
        self.config = config
        self.relay = relay
        self._next_check: dict[tuple[JobId, int, int], float] = {}
        self._appeal_checked: set[tuple[JobId, int, int]] = set()  # rounds this node decided not to appeal

    def settle(self) -> list[JobId]:
        """Finalize what is ready; the ids of the jobs this call finalized."""
        finalized: list[JobId] = []
        head: int | None = None
        for record in self.state.records([Phase.VOTING, Phase.VOTED, Phase.ABSTAINED]):
            if record.outcome or not record.seats:
                continue
            key = record.key
            try:
                view = self.market.job(record.job_id)
            except ChainError:
                continue
            if view.status != JobStatus.SUBMITTED or view.job.state.attempts != record.attempt:
                self._settled_elsewhere(record, view)
                continue
            if view.job.state.round != record.round:
                continue  # appealed: the round's seats are settled with the final round's outcome
            head = head if head is not None else self.market.rpc.block_number()
            closed = head >= record.last_block  # the next block is past the window
            verify_blocks = record.last_block - record.submit_block - 1
            if closed and record.round < FINAL_ROUND and self._appeal(record, view, head, verify_blocks):
                continue
            # Below the final round a decision stands only after an appeal window as long as the vote window.
            settle_after = settle_block(record.submit_block, verify_blocks, record.round)
            if head < settle_after:
                continue
            self._next_check[key] = time.monotonic() + _EARLY_CHECK_S
            votes = self._votes(record, head, closed)
            if votes is None:
                continue
            done = self._finalize(record, votes)
            if done:
                finalized.append(record.job_id)
                self._next_check.pop(key, None)
        return finalized

    def _appeal(self, record: Verification, view: JobView, head: int, verify_blocks: int) -> bool:
        """Appeal the record's round when this node's vote lost it and the bond is within the limit
        (`_appeal_limit`); True once appealed."""
        key = record.key
        own = votes_of(record)
        if (
            self.config.max_appeal_bond == 0
            or record.approve is None
            or not own
            or record.appealed
            or key in self._appeal_checked
        ):
            return False
        opens, closes = appeal_window(record.submit_block, verify_blocks)
        if not opens <= head + 1 <= closes:  # the transaction lands in the next block
            return False
        try:
            revealed = self.relay.revealed(record.job_id, record.round)
        except (RelayUnavailable, RelayRefused) as exc:
            self._appeal_checked.add(key)
            log.warning(
                "job %d: cannot read round %d's votes (%s): without them this node cannot tell whether its "
                "vote lost, so it does not appeal",
                record.job_id,
                record.round,
                exc,
            )
            return False
        if revealed is None:
            return False  # not revealed yet: asked again next step, while the appeal window lasts
        votes = merged(revealed, own)
        decided = self.market.round_decision(record.job_id, votes)
        mine = Outcome.ACCEPTED if record.approve else Outcome.REJECTED
        self._appeal_checked.add(key)
        if decided == mine:
            return False
        what = f"its vote ({mine.name.lower()}) lost round {record.round} ({decided.name.lower()})"
        limit = self._appeal_limit(view, record.round)
        attempt = appeal_round(
            self.market, record.job_id, votes, limit, what, unappealed=_UNAPPEALED, log=log
        )
        if attempt.retryable:
            self._appeal_checked.discard(key)
        appealed = attempt.appealed
        if appealed is None:
            return False
        self.state.update(record, appealed=str(appealed.tx.tx_hash))
        log.info(
            "job %d: %s: appealed it with %d revealed vote(s) and a bond of %d; round %d decides next",
            record.job_id,
            what,
            len(votes),
            appealed.bond,
            appealed.round,
        )
        return True

    def _appeal_limit(self, view: JobView, round_: int) -> AppealLimit:
        """`--max-appeal-bond` when given; else what a seat of this round loses if the decision stands."""
        if self.config.max_appeal_bond is not None:
            return AppealLimit(Wei(self.config.max_appeal_bond))
        spec = view.job.spec
        bond = seat_bond(spec.budget, spec.committee_size, round_, self.market.config().validator_slash)
        return AppealLimit(bond, f"a seat's bond in round {round_}, as --max-appeal-bond is not given")

    def _votes(self, record: Verification, head: int, closed: bool) -> list[SignedVote] | None:
        """The votes to reveal now, or None to wait."""
        own = votes_of(record)
        try:
            revealed = self.relay.revealed(record.job_id, record.round)
        except (RelayUnavailable, RelayRefused) as exc:
            if not closed or not own:
                if closed:
                    log.warning(
                        "job %d: cannot read the votes (%s); waiting for the gateway", record.job_id, exc
                    )
                return None
            log.warning(
                "job %d: the gateway cannot give the votes (%s): finalizing with this validator's own %d "
                "vote(s); the other seats count as silent",
                record.job_id,
                exc,
                len(own),
            )
            return own
        if revealed is not None:
            return merged(revealed, own)
        if not closed or head < record.last_block + self.config.reveal_patience_blocks or not own:
            return None
        log.warning(
            "job %d: the gateway has not revealed the votes %d blocks after the window: finalizing with this "
            "validator's own %d vote(s); the other seats count as silent",
            record.job_id,
            head - record.last_block,
            len(own),
        )
        return own

    def _finalize(self, record: Verification, votes: list[SignedVote]) -> bool:
        try:
            done = self.market.finalize(record.job_id, votes)
        except ContractRevert as exc:
            try:
                view = self.market.job(record.job_id)
            except ChainError:
                return False
            if view.status != JobStatus.SUBMITTED or view.job.state.attempts != record.attempt:
                self._settled_elsewhere(record, view)
            elif exc.error_name == "VerificationPending":
                log.debug("job %d: the window is not over on chain yet", record.job_id)
            else:
                log.warning("job %d: finalize was refused: %s", record.job_id, exc.message)
            return False
        except ChainError as exc:
            log.warning("job %d: finalize could not be sent (%s); trying again", record.job_id, exc)
            return False
        outcome = done.outcome.name.lower()
        self.state.put(settled(record, outcome))
        log.info(
            "job %d: finalized with %d revealed vote(s): %s (%d accept, %d reject)",
            record.job_id,
            len(votes),
            outcome,
            done.accepts,
            done.rejects,
        )
        return True

    def _settled_elsewhere(self, record: Verification, view: JobView) -> None:
        outcome = outcome_of(view)
        self.state.put(settled(record, outcome))
        log.info("job %d: settled by another node (%s)", record.job_id, outcome)
