"""The provider daemon: follow the market, decide per job (saying why it skips), claim, run, submit.

`ProviderNode.step()` is one round: read new events (JobPosted, JobReopened, JobClaimed, JobCancelled)
from the checkpointed reader, then, while slots are free, claim the best acceptable open job; a submitted
job nobody finalized after its voting window is finalized with the votes the gateway reveals (`settle`).
Work starts only after the claim is mined, on a worker thread per job (`runner.JobRunner`); a claim that
loses the race costs at most one reverted transaction (usually none: the gas estimate already fails) and
is logged as "lost the race". The loop, its backoff, `wait_idle` and `close` are the nodes' base
(`node_base`). State lives in the data dir, so a restarted node resumes its jobs (`recovery.recover`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace

from chain import (
    MARKET_PAUSED_MESSAGE,
    ChainError,
    ContractRevert,
    DecodedLog,
    JobId,
    JobSpec,
    JobStatus,
    MarketClient,
    Role,
    enum_label,
)
from jobs.bundle import BundleCache, BundleProblem, bundle_cid
from jobs.executors import Executor
from jobs.matching import SkipKind, SkipReason
from jobs.sealing import NodeKeyring
from jobs.store import ContentStore
from node_base import PollingNode
from node_base import StepReport as NodeStepReport
from node_base.encryption import ensure_published
from provider_node.confidential import ProviderSealing
from provider_node.config import NodeConfig
from provider_node.energy import EnergySettings
from provider_node.errors import ProviderNodeError
from provider_node.gpu_support import gpu_check_for
from provider_node.images import image_check_for
from provider_node.logs_push import LogPusher, LogRelay
from provider_node.matching import (
    ImageCheck,
    Offer,
    check_fit,
    check_manifest,
    check_room,
    rank,
    risk_reasons,
)
from provider_node.offer import OfferReader
from provider_node.open_jobs import OpenJobs
from provider_node.recovery import reconcile_claim, recover
from provider_node.reporting import ProviderReporter
from provider_node.runner import JobRunner, RunnerContext
from provider_node.settle import Finalizer, VotesSource
from provider_node.state import JobRecord, Phase, StateStore

__all__ = ["FAILURE_POLICY", "ProviderNode", "StepReport"]

log = logging.getLogger(__name__)

WATCHED_EVENTS = ("JobPosted", "JobReopened", "JobClaimed", "JobCancelled", "ClaimReleased")
FAILURE_POLICY = (
    "a job that fails by its own fault (non-zero exit, out of memory, over its time or output limit) is "
    "submitted as a failure report: validators re-run it, and when it fails the same way the requester pays "
    "for the run and the collateral is kept"
)
_STALE_CLAIM_S = 120.0


@dataclass
class StepReport(NodeStepReport):
    claimed: list[JobId] = field(default_factory=list)
    lost: list[JobId] = field(default_factory=list)
    skipped: dict[JobId, str] = field(default_factory=dict)

    @property
    def busy(self) -> bool:
        """Worth another round at once: it claimed, lost a race (stale view), or has blocks to catch up."""
        return bool(self.claimed or self.lost or self.behind)


class ProviderNode(PollingNode[StepReport, JobId]):
    """One provider account's daemon; see the module docstring."""

    role = Role.PROVIDER
    watched_events = WATCHED_EVENTS
    purpose = FAILURE_POLICY
    not_registered = ProviderNodeError
    state: StateStore

    def __init__(
        self,
        market: MarketClient,
        store: ContentStore,
        executor: Executor,
        config: NodeConfig | None = None,
        *,
        image_check: ImageCheck | None = None,
        energy: EnergySettings | None = None,
        votes: VotesSource | None = None,
    ) -> None:
        self.config = config or NodeConfig()
        super().__init__(market, self.config, StateStore(self.config.state_path))
        self.executor = executor
        self.bundles = BundleCache(store, self.config.bundles_dir, retry_s=self.config.bundle_retry_s)
        self.image_check = image_check or image_check_for(executor)
        self.gpu_check = gpu_check_for(executor)  # GPU jobs: nvidia runtime, NVML's GPUs, the GPU image
        self.reporter = self._reporter()
        self.offers = OfferReader(
            market,
            capacity=self.config.capacity,
            floor=self.config.min_price_per_hour,
            refresh_s=self.config.account_refresh_s,
        )
        self.sealing = ProviderSealing(
            market, NodeKeyring(self.config.encryption_keys_dir), self.state, self.config.data_dir / "opened"
        )
        self.ctx = RunnerContext(
            market=market,
            store=store,
            executor=executor,
            state=self.state,
            config=self.config,
            bundles=self.bundles,
            chain_time=self.chain_time,
            stop=self._stop,
            log_sink=self._log_sink,
            energy=energy,
            reporter=self.reporter,
            sealing=self.sealing,
        )
        self.open = OpenJobs(market, self.state, verdict_ttl_s=self.config.account_refresh_s)
        self.finalizer = Finalizer(
            market,
            self.state,
            self.config.gateway_url,
            self.config.finalize_after_blocks,
            max_appeal_bond=self.config.max_appeal_bond,
            votes=votes,
        )
        self._last_active = -1
        self._next_round = 0.0
        self._paused = False  # the market's pause as last seen (logged when it changes)
        self._logs: LogRelay | None = None

    # -- the loop ------------------------------------------------------------------------------------

    def chain_time(self) -> int:
        """The timestamp the next block will have, near enough: the latest block's, or now if later."""
        latest = int(self.market.rpc.get_block("latest")["timestamp"], 16)
        return max(latest, int(time.time()))

    def _round(self) -> StepReport:
        """Read events, settle claims of unknown outcome, claim while slots are free."""
        report = StepReport()
        self._read_events(report, self._apply)
        self._finished_workers()
        self._settle_claims()
        self._claim_round(report)
        self.sealing.reseal_pending(self.state.sealed_submissions)
        self.finalizer.settle()
        return report

    def _apply(self, events: list[DecodedLog]) -> None:
        self.open.apply(events)  # saved before the batch is committed: a crash re-reads it
        if self.reporter is not None:
            for event in events:
                if event.name != "JobPosted":  # claimed, cancelled or reopened: a new reason is news
                    self.reporter.forget(JobId(int(event.args["jobId"])))

    # -- start and recovery ---------------------------------------------------------------------------

    def _start(self) -> None:
        """Executions keep running while the node is down; the restarted node re-attaches to them."""
        self._registered_account()
        ensure_published(self.market, self.sealing.keyring)  # confidential jobs seal their keys to it
        relay = self._log_relay()
        if relay is not None:  # lines an earlier run spooled but could not deliver
            active = {record.job_id for record in self.state.active()}
            relay.resume(active.__contains__)
        for resume in recover(self.market, self.state, self.executor, self.chain_time):
            self._run_job(resume.record, reattach=resume.reattach)
        self._report_recent_energy()

    def _report_recent_energy(self, count: int = 20) -> None:
        """Send the energy of the latest results again: the gateway may have been away (or not configured)
        when they finished; it stores each once."""
        if self.reporter is None:
            return
        done = [r for r in self.state.records([Phase.FINISHED, Phase.SUBMITTED]) if r.result]
        for record in sorted(done, key=lambda r: r.exited_at or 0)[-count:]:
            energy = record.result.get("energy") if record.result else None
            if energy:
                self.reporter.energy(record.job_id, energy)

    def _run_job(self, record: JobRecord, *, reattach: bool = False) -> None:
        runner = JobRunner(self.ctx, record, reattach=reattach)
        self._spawn(record.job_id, runner.run, f"job-{record.job_id}")

    def _settle_claims(self) -> None:
        """Claims sent without a known outcome (an RPC failure mid-claim) are settled from the chain."""
        for record in self.state.records([Phase.CLAIMING]):
            if record.job_id in self._workers or time.time() - (record.claimed_at or 0) < _STALE_CLAIM_S:
                continue
            settled = reconcile_claim(self.market, self.state, record)
            if settled.phase is Phase.CLAIMED:
                self._run_job(settled)

    # -- events --------------------------------------------------------------------------------------

    # -- deciding and claiming ------------------------------------------------------------------------

    def _offer(self) -> Offer:
        offer, changed = self.offers.read(self.state.count_active())
        if changed:
            self.open.verdicts.clear()
        return offer

    def _skip(self, report: StepReport, job_id: JobId, reason: str) -> None:
        report.skipped[job_id] = reason
        if self.open.tell(job_id, reason):
            log.info("job %d: skipped: %s", job_id, reason)
        if self.reporter is not None:
            self.reporter.skipped(job_id, reason)

    def _claim_round(self, report: StepReport) -> None:
        open_ids = self.open.ids()
        active = self.state.count_active()
        due = report.events or active != self._last_active or time.monotonic() >= self._next_round
        if not open_ids or not due:
            return
        self._last_active = active
        self._next_round = time.monotonic() + self.config.account_refresh_s
        if self._market_paused():
            return
        offer = self._offer()
        full = offer.active_jobs >= offer.capacity
        acceptable = []
        for job_id in open_ids:
            if full and job_id in self.open.told:
                continue  # no slot, and the job's reason was given already
            spec = self.open.spec(job_id)
            if spec is None:
                continue
            reason = self._verdict(job_id, spec, offer)
            if reason is None:
                acceptable.append((job_id, spec))
            else:
                self._skip(report, job_id, reason)
        ranked = (
            [j for j, _ in acceptable]
            if full
            else rank(acceptable, self.me, tie_break=self.config.tie_break, keys=self.open.rank_keys)
        )
        for job_id in ranked:
            spec = self.open.specs[job_id]
            reason = check_room(spec, offer)
            if reason is not None:
                self._skip(report, job_id, reason)
                continue
            if not self._claim(report, job_id, spec):
                break  # the view of open jobs is stale: read the events again before trying another
            offer = replace(
                offer, active_jobs=offer.active_jobs + 1, free_stake=offer.free_stake - spec.collateral
            )
        self._last_active = self.state.count_active()

    def _verdict(self, job_id: JobId, spec: JobSpec, offer: Offer) -> str | None:
        """What the job is (spec, bundle, image) before whether there is room now, so that a skipped job is
        reported with its lasting reason; remembered for a while (an image loaded later is noticed)."""
        known, reason = self.open.verdict(job_id)
        if known:
            return reason
        return self.open.judge(
            job_id, check_fit(spec, offer) or self._failed_here(job_id) or self._check_bundle(spec, offer)
        )

    def _failed_here(self, job_id: JobId) -> str | None:
        """A reopened job that failed here by its own fault would only fail (and cost collateral) again; a
        confidential job whose claim this node gave back (no key came, or one that did not open) is left to
        other providers."""
        record = self.state.get(job_id)
        if record is not None and record.phase is Phase.RELEASED:
            return SkipReason(f"this node gave its claim back before: {record.note}", SkipKind.FAILED_BEFORE)
        if not self.open.attempts.get(job_id):
            return None
        if record is not None and record.phase is Phase.FAILED and "by its own fault" in record.note:
            return SkipReason(f"it failed on this node before: {record.note}", SkipKind.FAILED_BEFORE)
        return None

    def _check_bundle(self, spec: JobSpec, offer: Offer) -> str | None:
        try:
            bundle = self.bundles.get(bundle_cid(spec.bundle_digest, spec.bundle_codec))
        except BundleProblem as problem:
            return SkipReason(problem.reason, SkipKind.BUNDLE)
        reason = check_manifest(bundle.manifest, offer, self.image_check, self.gpu_check)
        if reason is not None:
            return reason
        risks = risk_reasons(bundle.manifest, spec, self.config.submit_margin_s)
        if risks and self.config.skip_risky:
            return SkipReason("risky: " + "; ".join(risks), SkipKind.RISKY)
        return None

    def _claim(self, report: StepReport, job_id: JobId, spec: JobSpec) -> bool:
        """Claim and start the job; False when the claim did not go through (or its outcome is unknown)."""
        cid = bundle_cid(spec.bundle_digest, spec.bundle_codec)
        manifest = self.bundles.get(cid).manifest
        risks = risk_reasons(manifest, spec, self.config.submit_margin_s)
        if risks:
            log.warning(
                "job %d: claiming a risky job: %s. If it fails by its own fault, this node submits nothing "
                "and the collateral is slashed when the job expires",
                job_id,
                "; ".join(risks),
            )
        record = self.state.put(
            JobRecord(
                job_id=job_id,
                attempt=self.open.attempts.get(job_id, 0),
                phase=Phase.CLAIMING,
                bundle_cid=cid,
                collateral=spec.collateral,
                claimed_at=time.time(),
            )
        )
        # The job's own events rebuild its struct without a log query (the store checks it against the word).
        self.market.jobs.apply(self.open.events.get(job_id, []))
        try:
            claimed = self.market.claim_job(job_id)
        except ContractRevert as exc:
            self.state.update(record, phase=Phase.LOST, note=exc.message)
            if exc.error_name == "MarketPaused":  # paused since the round began: the job stays a candidate
                self._note_pause(True)
                return False
            report.lost.append(job_id)
            taken = self._taken_by_now(job_id, exc)
            if taken is not None:
                how = "one reverted transaction" if exc.tx_hash else "refused before sending"
                log.info("job %d: lost the race: %s (%s)", job_id, taken, how)
                self.open.taken(job_id)
            else:
                # The chain disagrees with what the node read (stake, capabilities): read them again, and
                # leave this job alone for a while.
                log.warning("job %d: the claim was refused: %s", job_id, exc.message)
                self.offers.invalidate()
                self.open.judge(job_id, SkipReason(exc.message, SkipKind.CLAIM_REFUSED))
                self._next_round = 0.0
            return False
        except ChainError as exc:
            log.warning("job %d: the claim's outcome is unknown (%s); checking the chain later", job_id, exc)
            return False
        state = claimed.job.state
        record = self.state.update(
            record, phase=Phase.CLAIMED, deadline=state.deadline, claimed_at=time.time()
        )
        self.open.taken(job_id)
        self.offers.spent(spec.collateral)
        report.claimed.append(job_id)
        log.info("job %d: claimed (deadline %d)", job_id, state.deadline)
        self._run_job(record)
        return True

    def _market_paused(self) -> bool:
        """Whether the guardian paused the market (then no claim is tried; running jobs go on)."""
        try:
            paused = self.market.paused()
        except ChainError as exc:
            log.warning("could not read whether the market is paused (%s); trying to claim anyway", exc)
            return False
        self._note_pause(paused)
        return paused

    def _note_pause(self, paused: bool) -> None:
        if paused and not self._paused:
            log.warning("%s: not claiming until it is unpaused; running jobs go on", MARKET_PAUSED_MESSAGE)
        elif self._paused and not paused:
            log.info("the market was unpaused: claiming again")
        self._paused = paused

    def _taken_by_now(self, job_id: JobId, exc: ContractRevert) -> str | None:
        """Why a refused claim was a lost race, or None if the job is still open (the refusal was ours).

        A claim mined in the same block as the winner's reverts with a reason that a replay on the parent
        block cannot reproduce; the job's status tells then."""
        if exc.error_name == "JobNotInStatus":
            return exc.message
        try:
            status = self.market.status_of(job_id)
        except ChainError:
            return None
        return None if status == JobStatus.OPEN else f"job {job_id} is {enum_label(status)}, not Open"

    # -- logs ----------------------------------------------------------------------------------------

    def _log_relay(self) -> LogRelay | None:
        if not self.config.gateway_url:
            return None
        if self._logs is None:
            chain_id = self.config.gateway_chain_id or self.market.rpc.chain_id
            self._logs = LogRelay(
                self.config.gateway_url, self.market.signer, chain_id, self.config.data_dir / "logs"
            )
        return self._logs

    def _reporter(self) -> ProviderReporter | None:
        if not self.config.gateway_url:
            return None
        chain_id = self.config.gateway_chain_id or self.market.rpc.chain_id
        return ProviderReporter(self.config.gateway_url, self.market.signer, chain_id)

    def _log_sink(self, job_id: JobId) -> LogPusher | None:
        relay = self._log_relay()
        return relay.pusher(job_id) if relay is not None else None

    def close(self, timeout: float = 10.0) -> None:
        """Stop the workers, then the log relay (undelivered lines stay spooled for the next start)."""
        super().close(timeout)
        if self._logs is not None:
            self._logs.stop()
        if self.reporter is not None:
            self.reporter.close()
