"""The validator daemon: follow submissions, verify those it holds seats on, sign, deliver, finalize.

`ValidatorNode.step()` is one round: read new events (ResultSubmitted, JobFinalized) from the
checkpointed reader; record each submission (`drawing`) and, once the block after it is mined (the seed
block), find this account's seats in the committee drawn by stake from the job's roster snapshot (none:
the record is dropped); start verifications on worker threads; deliver signed votes; finalize. The loop,
its backoff, `wait_idle` and `close` are the nodes' base (`node_base`).

Appeals (`JobAppealed`): each round is a record of its own (job, attempt, round). The new round's seats are
drawn once its seed block is mined, as for a submission; the result is the same, so a verdict this node
reached in an earlier round is signed again for the new round's seats, never re-run. A node whose vote lost a
round appeals it within the appeal window when the bond is at most `max_appeal_bond` (by default the bond
one of its seats in the round loses if the decision stands; `ballot.Settler`).

One re-execution per submission, one signed vote per seat (draws are with replacement, so a validator may
hold several seats). Votes are EIP-712 signatures, not transactions: they are saved in the state file
(`voting`) before they are handed to the gateway's relay, and marked `voted` once it stored them, so a
restarted node sends its saved votes again and never re-runs the work for them. Whoever finalizes reveals
every vote together (`ballot.Settler`).

Never a replay for nothing (`resume`): a seat is checked against the chain's state of its job when it is
drawn, at start, and again before its replay; a job settled or reopened, or a window that has closed, ends
the seat without a replay. At start, replay containers an earlier run left are re-attached to by their
seat's verification (`Verifier`) or, when their result can no longer be used, removed.

Withheld results: when the store answers that the provider's result is not there, the node keeps trying
until `withheld_after` of the voting window has passed, then votes reject with the WITHHELD evidence.
When the store itself fails, the node abstains instead (its own problem must not slash anyone): it signs
nothing, and its seats count as silent.
"""

from __future__ import annotations

import functools
import logging
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

from chain import (
    ChainError,
    DecodedLog,
    JobId,
    JobStatus,
    MarketClient,
    Outcome,
    Role,
    RpcUnreachable,
    VerificationMode,
    enum_label,
    round_seats,
    seat_bond,
)
from jobs.bundle import BundleCache
from jobs.cid import Cid
from jobs.executors import Executor
from jobs.sealing import NodeKeyring
from jobs.store import ContentStore
from node_base import PollingNode, address_tag
from node_base import StepReport as NodeStepReport
from node_base.encryption import ensure_published
from validator.backing import unbacked_warning
from validator.ballot import Settler, evidence_of, settled, votes_of
from validator.confidential import KeysUnavailable, ValidatorSealing
from validator.config import ValidatorConfig
from validator.errors import ResultUnavailable, ValidatorError
from validator.reexecute import discard_replay, replay_execution_id, replays_of
from validator.relay import GatewayRelay, RelayRefused, RelayUnavailable, VoteRelay
from validator.resume import check_open_seats, check_seat, finished_seat, tidy_replays
from validator.state import EvidenceRecord, Phase, SubmittedResult, Verification, VerificationStore
from validator.verdict import KEY_WITHHELD, WITHHELD, Verdict, abstain, reject
from validator.verify import Submission, Verifier
from validator.warm import WarmPool

__all__ = ["StepReport", "ValidatorNode"]

log = logging.getLogger(__name__)

_KEYS_RETRY_S = 0.25

# A claimed job warms a replay (`validator.warm`); these end the attempt it was warmed for.
_ENDS_ATTEMPT = ("JobCancelled", "JobExpired", "JobReopened", "ClaimReleased")
WATCHED_EVENTS = ("ResultSubmitted", "JobAppealed", "JobFinalized", "JobClaimed", *_ENDS_ATTEMPT)


@dataclass
class StepReport(NodeStepReport):
    seated: list[JobId] = field(default_factory=list)
    voted: list[JobId] = field(default_factory=list)
    finalized: list[JobId] = field(default_factory=list)

    @property
    def busy(self) -> bool:
        return bool(self.seated or self.voted or self.finalized or self.behind)


# While a delivered vote waits for its job to settle, the idle loop looks again this often: the block that
# ends the appeal window may come at any time, and finalize is due right after it.
_SETTLE_CHECK_S = 2.0
# While a submission waits for its seed block (the block after it), the idle loop looks again this often: the
# seats are known the moment that block is, and each poll until then is one `eth_blockNumber`.
_SEED_CHECK_S = 0.05


class ValidatorNode(PollingNode[StepReport, tuple[JobId, int, int]]):
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
        *,
        relay: VoteRelay | None = None,
    ) -> None:
        self.config = config or ValidatorConfig()
        if relay is None:
            if not self.config.gateway_url:
                raise ValidatorError(
                    "a validator needs a gateway to relay its signed votes (--gateway / "
                    "CROWDCOMPUTE_GATEWAY_URL, `gateway_url` in its config): without one its votes reach "
                    "the chain only if it finalizes itself, and every other seat then counts as silent"
                )
            relay = GatewayRelay(self.config.gateway_url)
        super().__init__(market, self.config, VerificationStore(self.config.state_path))
        self.relay = relay
        self.bundles = BundleCache(store, self.config.bundles_dir)
        self.keyring = NodeKeyring(self.config.encryption_keys_dir)
        self.verifier = Verifier(
            store,
            executor,
            self.bundles,
            self.config.work_dir,
            self.me,
            ValidatorSealing(market, self.keyring),
        )
        self.warm = WarmPool(
            executor,
            self.bundles,
            address_tag(self.me),
            self.verifier.folder,
            limit=self.config.warm_replays,
            idle_s=self.config.warm_idle_s,
        )
        self.verifier.warm = self.warm
        self._retry_at: dict[tuple[JobId, int, int], float] = {}
        self._settler = Settler(market, self.state, self.config, relay)
        self._lock = threading.Lock()

    # -- the loop --------------------------------------------------------------------------------------

    def _round(self) -> StepReport:
        report = StepReport()
        self._read_events(report, lambda events: self._on_events(events, report))
        self._draw(report)
        self._reap(report)
        self._redeliver()
        self._dispatch()
        self.warm.expire()
        if self.config.finalize:
            report.finalized.extend(self._settler.settle())
        return report

    def _start(self) -> None:
        """Signed votes saved as `voting` are delivered again (their work is not re-run). Pending seats
        whose job moved on are closed, and replays left by an earlier run tidied."""
        account = self._registered_account()
        minimum = self.market.config().min_validator_stake
        if account.stake < minimum:
            log.warning(
                "stake %d is below the validator minimum %d: this account is not on the roster and is "
                "drawn for no seat until it stakes more (`crowdcompute validator register --stake ...`)",
                account.stake,
                minimum,
            )
        log.info("votes are relayed by the gateway at %s", self.relay.url)
        ensure_published(self.market, self.keyring)  # providers seal confidential jobs' keys to it
        # Seats whose job moved on while the node was away are closed; the replays they left are removed.
        check_open_seats(self.market, self.state)
        tidy_replays(self.verifier.executor, self.state, address_tag(self.me))
        self.warm.tidy()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the workers, then remove the replays waiting for a go (none is left on the engine)."""
        super().close(timeout)
        self.warm.close()

    def _idle_wait_s(self) -> float:
        """A whole poll; a moment while a submission waits for its seed block; a few seconds while a delivered
        vote waits for its job to settle."""
        if self.state.records([Phase.DRAWING]):
            return min(self._poll_interval_s, _SEED_CHECK_S)
        if self.state.records([Phase.VOTED]):
            return min(self._poll_interval_s, _SETTLE_CHECK_S)
        return self._poll_interval_s

    # -- events ----------------------------------------------------------------------------------------

    def _on_events(self, events: list[DecodedLog], report: StepReport) -> None:
        for event in events:
            if event.name == "JobFinalized":
                job_id = JobId(int(event.args["jobId"]))
                self.warm.discard(job_id, "the job was settled")
                self._on_finalized(job_id, Outcome(event.args["outcome"]).name.lower())
            elif event.name == "JobClaimed":
                self._on_claimed(event)
            elif event.name in _ENDS_ATTEMPT:
                self.warm.discard(JobId(int(event.args["jobId"])), event.name.removeprefix("Job").lower())
            elif event.name == "JobAppealed":
                self._on_appealed(event)
            else:
                self._on_submitted(event)

    def _on_claimed(self, event: DecodedLog) -> None:
        """Warm a replay for the claimed job: any validator on the roster may be drawn for it."""
        if self.config.warm_replays < 1:
            return
        job_id = JobId(int(event.args["jobId"]))
        self.market.jobs.apply([event])
        try:
            view = self.market.job(job_id)
        except ChainError as exc:
            log.debug("job %d: not warming a replay: cannot read it (%s)", job_id, exc)
            return
        if view.status == JobStatus.CLAIMED:  # not one read while catching up on history
            self.warm.prepare(job_id, view.job.state.attempts, view.job)

    def _on_finalized(self, job_id: JobId, outcome: str) -> None:
        """Record the outcome (a seat not verified yet ends without a replay); a verification still
        running finds the job closed when it concludes."""
        for record in self.state.records():
            worker = self._workers.get(record.key)
            if record.job_id != job_id or record.outcome or (worker and worker.is_alive()):
                continue
            if record.phase is Phase.DRAWING:
                self.state.delete(*record.key)  # settled before its seats were drawn
            else:
                self.state.put(settled(record, outcome))

    def _on_submitted(self, event: DecodedLog) -> None:
        """Note the submission; its seats are drawn once the seed block is mined (`_draw`)."""
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
        if job.state.submit_block != event.block_number or job.state.round != 0:
            return  # an older attempt's submission (or one appealed since), read while catching up
        if job.spec.mode == VerificationMode.NONE:
            return
        attempt = job.state.attempts
        if self.state.get(job_id, attempt, 0) is not None:
            return
        result: SubmittedResult = {
            "digest": bytes(event.args["resultDigest"]).hex(),
            "codec": int(event.args["resultCodec"]),
            "root": bytes(event.args["checkpointRoot"]).hex(),
            "count": int(event.args["checkpointCount"]),
            "seed": "",
        }
        self.state.put(
            Verification(
                job_id=job_id,
                attempt=attempt,
                phase=Phase.DRAWING,
                submit_block=event.block_number,
                last_block=event.block_number + 1 + job.spec.verify_blocks,
                mode=int(job.spec.mode),
                result=result,
                times={"noted": time.time()},
            )
        )

    def _on_appealed(self, event: DecodedLog) -> None:
        """Note an appeal: a new round of the same submission, whose seats are drawn once its seed block is
        mined (`_draw`)."""
        job_id = JobId(int(event.args["jobId"]))
        round_ = int(event.args["round"])
        self.market.jobs.apply([event])
        try:
            view = self.market.job(job_id)
        except ChainError as exc:
            log.warning("job %d: cannot rebuild it from the chain (%s); skipping its appeal", job_id, exc)
            return
        job = view.job
        if job.state.submit_block != event.block_number or job.state.round != round_:
            return  # an earlier round or attempt, read while catching up
        attempt = job.state.attempts
        if job.spec.mode == VerificationMode.NONE or self.state.get(job_id, attempt, round_) is not None:
            return
        result = self._submitted(job_id, attempt, view.events)
        if result is None:
            log.warning("job %d: appealed, but its submission is not in the events read", job_id)
            return
        self.state.put(
            Verification(
                job_id=job_id,
                attempt=attempt,
                round=round_,
                phase=Phase.DRAWING,
                submit_block=event.block_number,
                last_block=event.block_number + 1 + job.spec.verify_blocks,
                mode=int(job.spec.mode),
                result=cast(SubmittedResult, {**result, "seed": ""}),
                # Replays are named by try: a re-run in this round must not take an earlier round's name.
                tries=max((r.tries for r in self.state.rounds(job_id, attempt)), default=0),
            )
        )
        log.info(
            "job %d: appealed by %s (bond %d): round %d draws %d seats from block %d",
            job_id,
            event.args["appellant"],
            int(event.args["bond"]),
            round_,
            round_seats(job.spec.committee_size, round_),
            event.block_number + 1,
        )

    def _submitted(self, job_id: JobId, attempt: int, events: Sequence[DecodedLog]) -> SubmittedResult | None:
        """The attempt's submission: from an earlier round's record, else from the job's last
        `ResultSubmitted` event (an appeal keeps the result)."""
        for record in reversed(self.state.rounds(job_id, attempt)):
            if record.result is not None:
                return record.result
        submitted = [event for event in events if event.name == "ResultSubmitted"]
        if not submitted:
            return None
        args = submitted[-1].args
        return {
            "digest": bytes(args["resultDigest"]).hex(),
            "codec": int(args["resultCodec"]),
            "root": bytes(args["checkpointRoot"]).hex(),
            "count": int(args["checkpointCount"]),
            "seed": "",
        }

    def _draw(self, report: StepReport) -> None:
        """Submissions whose seed block is mined: this account's seats, or the record goes."""
        head: int | None = None
        for record in self.state.records([Phase.DRAWING]):
            head = head if head is not None else self.market.rpc.block_number()
            if head <= record.submit_block:
                continue  # the seed is the hash of the block after the submission
            try:
                view = self.market.job(record.job_id)
                state = view.job.state
                moved_on = (
                    state.attempts != record.attempt
                    or state.submit_block != record.submit_block
                    or state.round != record.round
                )
                if moved_on or view.status != JobStatus.SUBMITTED:
                    # Settled or appealed before its seats were drawn here (history read on a fresh data
                    # folder): nothing to verify, and the seed is no longer readable.
                    self.state.delete(*record.key)
                    self.warm.discard(record.job_id, "settled before the draw", record.attempt)
                    continue
                seed = self.market.seed_of(record.job_id)
                seats = self.market.seats_of(record.job_id)
            except ChainError as exc:
                log.warning("job %d: cannot draw its committee yet (%s)", record.job_id, exc)
                continue
            if not seats:
                log.debug("job %d: not on its round-%d committee", record.job_id, record.round)
                self.state.delete(*record.key)
                self.warm.discard(record.job_id, "not drawn", record.attempt)
                continue
            result = cast(SubmittedResult, {**(record.result or {}), "seed": bytes(seed).hex()})
            seated = replace(
                record, phase=Phase.PENDING, seats=list(seats), result=result, times=_at(record, "seated")
            )
            # The chain's state now, not the events read so far: history read on a fresh data folder holds
            # seats that were settled long ago.
            done = finished_seat(seated, view, head)
            if done is not None:
                self.warm.discard(record.job_id, done.reason, record.attempt)
                self.state.put(done)
                log.info("job %d: holds seat(s) %s, but %s", record.job_id, seats, done.reason)
                continue
            self.state.put(seated)
            report.seated.append(record.job_id)
            log.info(
                "job %d: holds seat(s) %s of %d in round %d (mode %s, votes until block %d)",
                record.job_id,
                ", ".join(map(str, seats)),
                round_seats(view.job.spec.committee_size, record.round),
                record.round,
                enum_label(VerificationMode(view.job.spec.mode)),
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
            key = record.key
            if key in self._workers or self._retry_at.get(key, 0.0) > now:
                continue
            earlier = self._earlier_verdict(record)
            if earlier is not None:
                # The same result, judged already: sign the verdict again for this round's seats.
                self._spawn(key, functools.partial(self._reuse, record, earlier), f"vote-{key[0]}-{key[2]}")
                continue
            if len(self._workers) >= self.config.workers:
                return
            self._spawn(key, functools.partial(self._verify, record), f"verify-{key[0]}")

    def _earlier_verdict(self, record: Verification) -> Verification | None:
        """This node's verdict on the same result in an earlier round, if it reached one."""
        for earlier in reversed(self.state.rounds(record.job_id, record.attempt)):
            if earlier.round < record.round and earlier.approve is not None and _same(earlier, record):
                return earlier
        return None

    def _reuse(self, record: Verification, earlier: Verification) -> None:
        try:
            if check_seat(self.market, self.state, record) is None:
                log.info(
                    "job %d: round %d: the verdict of round %d stands (%s): %s",
                    record.job_id,
                    record.round,
                    earlier.round,
                    "accept" if earlier.approve else "reject",
                    earlier.reason,
                )
                self._sign(
                    record,
                    {
                        "approve": earlier.approve,
                        "reason": earlier.reason,
                        "evidence": earlier.evidence,
                        "segments": earlier.segments,
                        "cpu_s": 0.0,
                    },
                )
        except Exception as exc:  # a worker leaves a record behind, never dies silently
            log.exception("job %d: signing round %d failed in this node", record.job_id, record.round)
            self.state.update(record, phase=Phase.ABSTAINED, reason=f"node error: {exc!r}")
        self._wake.set()

    def _submission(self, record: Verification) -> Submission:
        result = record.result
        if result is None or not result["seed"]:
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
        key = record.key
        try:
            if check_seat(self.market, self.state, record) is None:  # never a replay for nothing
                record = self.state.update(record, tries=record.tries + 1, times=_at(record, "verifying"))
                submission = self._submission(record)
                try:
                    verdict = self.verifier.verify(submission, tries=record.tries)
                except ResultUnavailable as exc:
                    waited = self._unavailable(record, submission, exc)
                    if waited is None:
                        # keys come one block after the committee is drawn: looked for again soon
                        again = _KEYS_RETRY_S if isinstance(exc, KeysUnavailable) else self.config.retry_s
                        self._retry_at[key] = time.monotonic() + again
                        return
                    verdict = waited
                self._conclude(record, verdict)
            else:
                self._discard_left_replay(record)
        except RpcUnreachable as exc:
            # A lost chain link is not the job's fault: the seat stays pending and is tried again.
            log.warning("job %d: the chain is unreachable (%s); trying again", record.job_id, exc)
            self._retry_at[key] = time.monotonic() + self.config.retry_s
        except Exception as exc:  # a worker leaves a record behind, never dies silently
            log.exception("job %d: verification failed in this node", record.job_id)
            self.state.update(record, phase=Phase.ABSTAINED, reason=f"node error: {exc!r}")
        self._wake.set()  # the votes may be complete now: finalize without waiting for the next poll
        self.warm.discard(record.job_id, "verified without it", record.attempt)  # a failure report, ...
        if not self.config.keep_work:
            shutil.rmtree(self.verifier.folder(record.job_id, record.attempt), ignore_errors=True)

    def _discard_left_replay(self, record: Verification) -> None:
        """A seat that ended before its replay was used: the replay an earlier run of this node left, and
        kept at start for the seat to re-attach to, goes too (else it stays on the engine for good)."""
        executor = self.verifier.executor
        node = address_tag(self.me)
        left = replay_execution_id(record.job_id, record.attempt, node, record.tries)
        if record.tries and any(replay.execution_id == left for replay, _ in replays_of(executor, node)):
            discard_replay(executor, left, "its seat ended before the replay was used")

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
        if isinstance(exc, KeysUnavailable):
            return reject(
                f"the provider withheld the job's keys: {exc}", KEY_WITHHELD, submission.result_cid.digest
            )
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
            "times": _at(record, "verdict"),
        }
        if verdict.approve is None:
            # Nothing is signed: the seats stay silent (and lose their bonds, as a seat that did not vote).
            self.state.update(record, phase=Phase.ABSTAINED, **changes)
            return
        self._sign(record, changes)

    def _sign(self, record: Verification, changes: dict[str, Any]) -> None:
        """Sign the verdict in `changes` at every seat of the record's round, save, deliver."""
        if self.market.rpc.block_number() >= record.last_block:
            # The gateway reveals the votes once the window is over; a vote signed after it is one that
            # could copy the others.
            self.state.update(
                record,
                phase=Phase.ABSTAINED,
                **{
                    **changes,
                    "reason": f"{changes['reason']} (the window closed at block {record.last_block} first)",
                },
            )
            log.warning(
                "job %d: the voting window closed before the verdict; nothing is signed", record.job_id
            )
            return
        record = self.state.update(record, **changes)
        job = self.market.jobs.job(record.job_id)
        if job.state.round != record.round:
            self.state.update(record, phase=Phase.ABSTAINED, reason=f"{record.reason} (appealed first)")
            return
        self._warn_if_unbacked(record, job.spec.budget, job.spec.committee_size)
        votes = [
            self.market.sign_vote(record.job_id, seat, bool(record.approve), evidence_of(record)).to_json()
            for seat in record.seats
        ]
        record = self.state.update(record, phase=Phase.VOTING, votes=votes)
        self._deliver(record)

    def _warn_if_unbacked(self, record: Verification, budget: int, committee_size: int) -> None:
        """Say so when this node's free stake cannot lock the bond of every seat it is about to vote with."""
        try:
            bond = seat_bond(budget, committee_size, record.round, self.market.config().validator_slash)
            account = self.market.account_of()
        except (ChainError, ValueError) as exc:
            log.debug("job %d: could not check the seats' backing (%s)", record.job_id, exc)
            return
        warning = unbacked_warning(record.job_id, account.stake - account.locked, bond, len(record.seats))
        if warning is not None:
            log.warning("%s", warning)

    # -- delivering ------------------------------------------------------------------------------------

    def _deliver(self, record: Verification) -> None:
        """Hand the record's signed votes to the gateway; `voted` once it has them all."""
        key = record.key
        label = "accept" if record.approve else "reject"
        try:
            for vote in votes_of(record):
                self.relay.deliver(vote)
        except RelayUnavailable as exc:
            self._retry_at[key] = time.monotonic() + self.config.retry_s
            log.warning("job %d: the vote could not be delivered (%s); trying again", record.job_id, exc)
            return
        except RelayRefused as exc:
            # For good (revealed already, the job closed, the vote refused): the votes stay saved here, and
            # this node reveals them itself if it finalizes.
            self.state.update(record, phase=Phase.VOTED, reason=f"{record.reason} (not relayed: {exc})")
            log.warning("job %d: the gateway refused the vote for good (%s)", record.job_id, exc)
            return
        self.state.update(record, phase=Phase.VOTED, times=_at(record, "voted"))
        log.info(
            "job %d: voted %s at seat(s) %s of round %d (signed, delivered to %s)",
            record.job_id,
            label,
            ", ".join(map(str, record.seats)),
            record.round,
            self.relay.url,
        )

    def _redeliver(self) -> None:
        """Send again the signed votes the gateway does not have yet (it failed, or the node restarted)."""
        now = time.monotonic()
        for record in self.state.records([Phase.VOTING]):
            key = record.key
            if key in self._workers or self._retry_at.get(key, 0.0) > now:
                continue
            self._retry_at.pop(key, None)
            self._deliver(record)


def _at(record: Verification, step: str) -> dict[str, float]:
    """The record's step times with `step` taken now (the first time only)."""
    return {step: time.time(), **(record.times or {})}


def _same(one: Verification, other: Verification) -> bool:
    """Whether two records hold the same submitted result."""
    if one.result is None or other.result is None:
        return False
    a, b = one.result, other.result
    return (a["digest"], a["codec"], a["root"], a["count"]) == (
        b["digest"],
        b["codec"],
        b["root"],
        b["count"],
    )
