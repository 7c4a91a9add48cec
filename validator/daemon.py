"""The validator daemon: follow submissions, verify those it sits on the committee of, vote once, settle.

`ValidatorNode.step()` is one round: read new events (ResultSubmitted, JobFinalized) from the
checkpointed reader; record each submission whose committee (drawn, as the contract draws it, from the hash
of the seed block: the block after the submission) holds this account; start verifications on worker
threads; settle jobs that are decided. A submission whose seed block is not mined yet waits for it: the
reader's checkpoint stays before it, so a restart reads it again. The loop, its backoff, `wait_idle` and
`close` are the nodes' base (`node_base`); a worker that has voted wakes the loop, so a decided job is
settled at once.

Never voting twice: the verdict and the phase `voting` are saved before the vote is sent; a restarted
node finds `voting` records and asks the chain (the job word's vote mask) whether its slot has voted
before sending again. A vote refused with `AlreadyVoted`, or refused while the chain shows the slot has
voted (an earlier send mined in the same block), is recorded as voted. A vote that could not be sent
(the RPC failed, or voting was not open yet at the block the estimate ran against) stays `voting` and is
sent again on a later step, asking the vote mask first.

Never a replay for nothing (`resume`): a seat is checked against the chain's state of its job when it is
read from the events (a fresh data folder reads the whole history), at start, and again before its replay;
a job settled, reopened or voted on by this slot, or a window that has closed, ends the seat without a
replay. At start, replay containers an earlier run left are re-attached to by their seat's verification
(`Verifier`) or, when their result can no longer be used, removed.

Withheld results: when the store answers that the provider's result is not there, the node keeps trying
until `withheld_after` of the voting window has passed, then votes reject with the WITHHELD evidence.
When the store itself fails, the node abstains instead (its own problem must not slash anyone).
"""

from __future__ import annotations

import functools
import logging
import shutil
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from chain import (
    ChainError,
    ContractRevert,
    DecodedLog,
    JobId,
    JobStatus,
    MarketClient,
    Outcome,
    Role,
    VerificationMode,
    committee_of,
    enum_label,
    last_vote_block,
    seed_block,
    seed_of,
    slot_of,
)
from jobs.bundle import BundleCache
from jobs.cid import Cid
from jobs.executors import Executor
from jobs.store import ContentStore
from node_base import PollingNode, address_tag
from node_base import StepReport as NodeStepReport
from validator.ballot import Settler, evidence_of, outcome_of, settled
from validator.config import ValidatorConfig
from validator.errors import ResultUnavailable, ValidatorError
from validator.resume import check_open_seats, check_seat, finished_seat, tidy_replays
from validator.state import EvidenceRecord, Phase, SubmittedResult, Verification, VerificationStore
from validator.verdict import WITHHELD, Verdict, abstain, reject
from validator.verify import Submission, Verifier

__all__ = ["StepReport", "ValidatorNode"]

log = logging.getLogger(__name__)

WATCHED_EVENTS = ("ResultSubmitted", "JobFinalized")


@dataclass
class StepReport(NodeStepReport):
    seated: list[JobId] = field(default_factory=list)
    voted: list[JobId] = field(default_factory=list)
    finalized: list[JobId] = field(default_factory=list)

    @property
    def busy(self) -> bool:
        return bool(self.seated or self.voted or self.finalized or self.behind)


class ValidatorNode(PollingNode[StepReport, tuple[JobId, int]]):
    """One validator account's daemon; see the module docstring."""

    role = Role.VALIDATOR
    watched_events = WATCHED_EVENTS
    purpose = "watching for submissions it must verify"
    not_registered = ValidatorError
    idle_timeout_s = 120.0
    state: VerificationStore

    def __init__(
        self,
        market: MarketClient,
        store: ContentStore,
        executor: Executor,
        config: ValidatorConfig | None = None,
    ) -> None:
        self.config = config or ValidatorConfig()
        super().__init__(market, self.config, VerificationStore(self.config.state_path))
        self.bundles = BundleCache(store, self.config.bundles_dir)
        self.verifier = Verifier(store, executor, self.bundles, self.config.work_dir, self.me)
        self._retry_at: dict[tuple[JobId, int], float] = {}
        self._settler = Settler(market, self.state, self.config)
        self._lock = threading.Lock()
        # Submissions read before their seed block was mined, by (job id, submission block).
        self._unseeded: dict[tuple[JobId, int], DecodedLog] = {}

    # -- the loop --------------------------------------------------------------------------------------

    def _round(self) -> StepReport:
        report = StepReport()
        self._read_events(report, lambda events: self._on_events(events, report))
        self._seat_seeded(report)
        self._reap(report)
        self._revote()
        self._dispatch()
        if self.config.finalize:
            report.finalized.extend(self._settler.settle())
        return report

    def _start(self) -> None:
        """Votes saved as `voting` may or may not be on chain: each is checked before it is sent again.
        Pending seats whose job moved on are closed, and replays left by an earlier run tidied."""
        account = self._registered_account()
        minimum = self.market.config().min_validator_stake
        if account.stake < minimum:
            log.warning(
                "stake %d is below the validator minimum %d: committee seats drawn for this account "
                "cannot vote until it stakes more (`crowdcompute validator register --stake ...`)",
                account.stake,
                minimum,
            )
        for record in self.state.records([Phase.VOTING]):
            self._resume_vote(record)
        # Seats whose job moved on while the node was away are closed; the replays they left are removed.
        check_open_seats(self.market, self.state)
        tidy_replays(self.verifier.executor, self.state, address_tag(self.me))

    # -- events ----------------------------------------------------------------------------------------

    def _on_events(self, events: list[DecodedLog], report: StepReport) -> int | None:
        """Handle a batch; returns the first block holding a submission whose seed block is not mined yet
        (the reader commits only up to the block before)."""
        for event in events:
            if event.name == "JobFinalized":
                job_id = JobId(int(event.args["jobId"]))
                self._on_finalized(job_id, Outcome(event.args["outcome"]).name.lower())
            else:
                self._unseeded[(JobId(int(event.args["jobId"])), event.block_number)] = event
        self._seat_seeded(report)
        return min((block for _, block in self._unseeded), default=None)

    def _seat_seeded(self, report: StepReport) -> None:
        """Seat this node on the submissions whose seed block is mined; the others wait for it."""
        if not self._unseeded:
            return
        head = self.market.rpc.block_number()
        for key, event in sorted(self._unseeded.items(), key=lambda item: item[0][1]):
            if head < seed_block(event.block_number):
                continue
            del self._unseeded[key]
            self._on_submitted(event, report)

    def _on_finalized(self, job_id: JobId, outcome: str) -> None:
        """Record the outcome (a seat not verified yet ends without a replay); a verification still
        running finds the job closed when it votes."""
        for record in self.state.records():
            worker = self._workers.get((job_id, record.attempt))
            if record.job_id == job_id and not record.outcome and not (worker and worker.is_alive()):
                self.state.put(settled(record, outcome))

    def _on_submitted(self, event: DecodedLog, report: StepReport) -> None:
        job_id = JobId(int(event.args["jobId"]))
        self.market.jobs.apply([event])
        try:
            view = self.market.job(job_id)
        except ChainError as exc:
            log.warning(
                "job %d: cannot rebuild it from the chain (%s); skipping this submission", job_id, exc
            )
            return
        job = view.job
        if job.state.submit_block != event.block_number:
            return  # an older attempt's submission, read while catching up
        attempt = job.state.attempts
        if self.state.get(job_id, attempt) is not None:
            return
        seed = seed_of(self.market.seed_block_hash(event.block_number), job_id)
        validators = self.market.validators()[: job.state.validator_count]
        slot = slot_of(committee_of(job, seed, validators), self.me)
        if slot is None:
            log.debug("job %d: not on its committee", job_id)
            return
        spec = job.spec
        result: SubmittedResult = {
            "digest": bytes(event.args["resultDigest"]).hex(),
            "codec": int(event.args["resultCodec"]),
            "root": bytes(event.args["checkpointRoot"]).hex(),
            "count": int(event.args["checkpointCount"]),
            "seed": bytes(seed).hex(),
        }
        record = Verification(
            job_id=job_id,
            attempt=attempt,
            phase=Phase.PENDING,
            slot=slot,
            submit_block=event.block_number,
            last_block=last_vote_block(event.block_number, spec.verify_blocks),
            mode=int(spec.mode),
            result=result,
        )
        # The chain's state now, not the events read so far: history read on a fresh data folder holds
        # seats that were settled long ago.
        done = finished_seat(record, view, self.market.rpc.block_number())
        if done is not None:
            self.state.put(done)
            log.info("job %d: on its committee (slot %d), but %s", job_id, slot, done.reason)
            return
        self.state.put(record)
        report.seated.append(job_id)
        log.info(
            "job %d: on its committee (slot %d, mode %s, votes until block %d)",
            job_id,
            slot,
            enum_label(VerificationMode(spec.mode)),
            record.last_block,
        )

    # -- verifying ------------------------------------------------------------------------------------

    def _reap(self, report: StepReport) -> None:
        for key in self._finished_workers():
            record = self.state.get(*key)
            if record is not None and record.phase is Phase.VOTED:
                report.voted.append(key[0])

    def _dispatch(self) -> None:
        now = time.monotonic()
        for record in self.state.records([Phase.PENDING]):
            key = (record.job_id, record.attempt)
            if key in self._workers or self._retry_at.get(key, 0.0) > now:
                continue
            if len(self._workers) >= self.config.workers:
                return
            self._spawn(key, functools.partial(self._verify, record), f"verify-{key[0]}")

    def _submission(self, record: Verification) -> Submission:
        result = record.result
        if result is None:
            raise ValidatorError(f"job {record.job_id}: the seat's record holds no submission")
        return Submission(
            job_id=record.job_id,
            attempt=record.attempt,
            job=self.market.jobs.job(record.job_id),
            result_cid=Cid.from_chain(bytes.fromhex(result["digest"]), int(result["codec"])),
            checkpoint_root=bytes.fromhex(result["root"]),
            checkpoint_count=int(result["count"]),
            seed=bytes.fromhex(result["seed"]),
        )

    def _verify(self, record: Verification) -> None:
        key = (record.job_id, record.attempt)
        try:
            if check_seat(self.market, self.state, record) is None:  # never a replay for nothing
                record = self.state.update(record, tries=record.tries + 1)
                submission = self._submission(record)
                try:
                    verdict = self.verifier.verify(submission, tries=record.tries)
                except ResultUnavailable as exc:
                    waited = self._unavailable(record, submission, exc)
                    if waited is None:
                        self._retry_at[key] = time.monotonic() + self.config.retry_s
                        return
                    verdict = waited
                self._conclude(record, verdict)
        except Exception as exc:  # a worker leaves a record behind, never dies silently
            log.exception("job %d: verification failed in this node", record.job_id)
            self.state.update(record, phase=Phase.ABSTAINED, reason=f"node error: {exc!r}")
        self._wake.set()  # the job may be decided now: settle it without waiting for the next poll
        if not self.config.keep_work:
            shutil.rmtree(self.verifier.folder(*key), ignore_errors=True)

    def _unavailable(
        self, record: Verification, submission: Submission, exc: ResultUnavailable
    ) -> Verdict | None:
        """A verdict once waiting longer is pointless; None to try again later."""
        head = self.market.rpc.block_number()
        window = max(1, record.last_block - record.submit_block)
        patience = record.submit_block + max(1, int(window * self.config.withheld_after))
        if head < patience and head + 1 < record.last_block:
            log.info("job %d: %s; trying again (until block %d)", record.job_id, exc, patience)
            return None
        if exc.missing:
            return reject(
                f"the provider's result was withheld: {exc}", WITHHELD, submission.result_cid.digest
            )
        return abstain(f"could not fetch the result: {exc}")

    def _conclude(self, record: Verification, verdict: Verdict) -> None:
        evidence: EvidenceRecord = {
            "segment": verdict.evidence.segment,
            "committed": verdict.evidence.committed_digest.hex(),
            "recomputed": verdict.evidence.recomputed_digest.hex(),
            "reason": int(verdict.evidence.reason),
        }
        log.info("job %d: verdict %s: %s", record.job_id, verdict.label, verdict.reason)
        changes: dict[str, Any] = {
            "approve": verdict.approve,
            "reason": verdict.reason,
            "evidence": evidence,
            "segments": list(verdict.segments),
            "cpu_s": verdict.cpu_s,
        }
        if verdict.approve is None:
            self.state.update(record, phase=Phase.ABSTAINED, **changes)
            return
        record = self.state.update(record, phase=Phase.VOTING, **changes)
        self._send_vote(record)

    # -- voting ---------------------------------------------------------------------------------------

    def _send_vote(self, record: Verification) -> None:
        head = self.market.rpc.block_number()
        if head + 1 > record.last_block:
            self.state.update(
                record,
                phase=Phase.ABSTAINED,
                reason=f"{record.reason} (the window closed at block {record.last_block} before the vote)",
            )
            log.warning("job %d: the voting window closed before the vote could be sent", record.job_id)
            return
        approve = bool(record.approve)
        key = (record.job_id, record.attempt)
        try:
            cast = self.market.vote(record.job_id, approve, evidence_of(record), slot=record.slot)
        except ContractRevert as exc:
            if exc.error_name == "AlreadyVoted" or self._slot_voted(record):
                # An earlier send of this vote (before a restart) was mined, perhaps in this very block.
                self.state.update(record, phase=Phase.VOTED)
                log.info("job %d: its slot %d has voted already", record.job_id, record.slot)
                return
            if exc.error_name == "VotingNotOpen":
                # Estimated against a block that does not follow the submission yet: send it later.
                self._retry_at[key] = time.monotonic() + self.config.retry_s
                log.info("job %d: voting is not open yet; the vote waits for the next block", record.job_id)
                return
            self.state.update(record, phase=Phase.ABSTAINED, reason=f"the vote was refused: {exc.message}")
            log.warning("job %d: the vote was refused: %s", record.job_id, exc.message)
            return
        except ChainError as exc:
            # The node may or may not have the transaction; the saved verdict stays `voting`, and the
            # next try asks the chain's vote mask before sending again.
            self._retry_at[key] = time.monotonic() + self.config.retry_s
            log.warning("job %d: the vote could not be sent (%s); trying again", record.job_id, exc)
            return
        self.state.update(record, phase=Phase.VOTED, vote_tx=str(cast.tx.tx_hash))
        log.info(
            "job %d: voted %s at slot %d (fee %d)",
            record.job_id,
            "accept" if approve else "reject",
            record.slot,
            cast.fee,
        )

    def _slot_voted(self, record: Verification) -> bool:
        try:
            return bool(self.market.job(record.job_id).voted_mask >> record.slot & 1)
        except ChainError:
            return False

    def _revote(self) -> None:
        """Send again the saved votes that are not on chain yet (too early, or the RPC failed)."""
        now = time.monotonic()
        for record in self.state.records([Phase.VOTING]):
            key = (record.job_id, record.attempt)
            if key in self._workers or self._retry_at.get(key, 0.0) > now:
                continue
            self._retry_at.pop(key, None)
            self._resume_vote(record)

    def _resume_vote(self, record: Verification) -> None:
        """A vote that may or may not have been sent before a restart: ask the chain before sending."""
        try:
            view = self.market.job(record.job_id)
        except ChainError as exc:
            log.warning("job %d: cannot read it to resume the vote (%s)", record.job_id, exc)
            return
        if view.status != JobStatus.SUBMITTED or view.job.state.attempts != record.attempt:
            self.state.put(settled(record, outcome_of(view)))
            return
        if view.voted_mask >> record.slot & 1:
            self.state.update(record, phase=Phase.VOTED)
            log.info("job %d: its vote was mined before the restart", record.job_id)
            return
        self._send_vote(record)
