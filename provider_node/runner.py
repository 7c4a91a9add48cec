"""One claimed job from start to submission, driven by its persisted phase so a restart resumes it.

    claimed  -> start the execution (its id is saved first, so a crash right after finds the container)
    running  -> wait for it (re-attached after a restart), meter its energy, relay its log
    finished -> the output packed, added and pinned, the checkpoint root computed: submit
    submitted | failed | expired

Failure policy (docs in provider_node/README.md): a job that fails by its own fault (non-zero exit,
out of memory, over its declared time or output limit) is submitted as a failure report (`jobs.failure`):
the validators re-run it, and when it fails the same way the job is accepted, so the requester pays for
the failed run and the collateral stays the provider's. A run cut short by the deadline rather than by
the job's own time limit, or an unreadable checkpoint list in a successful run, is not the job's failure
to report: nothing is submitted and the job expires. Failures of the node itself (the engine lost the
container, the image vanished) are retried while the deadline leaves time, never reported.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from chain import ChainError, ContractRevert, JobId, JobStatus, MarketClient, ResultCommitment, RpcUnreachable
from cli_support import token_amount
from jobs.bundle import Bundle, BundleCache, BundleProblem, pack_output
from jobs.commitments import CommitmentError, checkpoint_commitment
from jobs.executors import (
    ExecutionId,
    ExecutionRequest,
    ExecutionResult,
    ExecutionState,
    Executor,
    ExecutorError,
    WaitTimeout,
    request_for_manifest,
)
from jobs.failure import FAILURE_RECORD, FailureKind, FailureOutcome, write_failure_report
from jobs.store import Cid, ContentStore, StoreError
from node_base import address_tag
from provider_node.confidential import AWAITING_KEY, ProviderSealing
from provider_node.config import NodeConfig
from provider_node.energy import EnergyMeter, EnergySettings
from provider_node.logs_push import LogPusher
from provider_node.publish import publish_result
from provider_node.reporting import ProviderReporter
from provider_node.state import JobRecord, Phase, ResultRecord, StateStore

__all__ = ["JobRunner", "RunnerContext", "execution_id_for"]

log = logging.getLogger(__name__)

MAX_TRIES = 3
_NODE_FAULTS = frozenset({ExecutionState.LOST})


@dataclass
class RunnerContext:
    """What every job runner of one node shares."""

    market: MarketClient
    store: ContentStore
    executor: Executor
    state: StateStore
    config: NodeConfig
    bundles: BundleCache
    chain_time: Callable[[], int]
    stop: threading.Event
    log_sink: Callable[[JobId], LogPusher | None]
    energy: EnergySettings | None = None
    reporter: ProviderReporter | None = None
    """Where finished jobs' energy records go (the gateway), when the node has one."""
    sealing: ProviderSealing | None = None
    """Confidential jobs' keys, opened bundles and sealed results (None: this node runs none)."""


def execution_id_for(record: JobRecord, address: str) -> ExecutionId:
    """Unique per job, attempt, node (its whole address) and try; containers and run folders are named
    after it, so nodes sharing an engine or a disk never touch each other's."""
    return ExecutionId(f"job{record.job_id}-a{record.attempt}-{address_tag(address)}-t{record.tries}")


class JobRunner:
    """Moves one job record through its phases on a worker thread (`run`)."""

    def __init__(self, ctx: RunnerContext, record: JobRecord, *, reattach: bool = False) -> None:
        self.ctx = ctx
        self.record = record
        self.reattach = reattach
        self._pusher: LogPusher | None = None
        self._meter: EnergyMeter | None = None
        self._opened: Bundle | None = None  # a confidential job's bundle, opened for the run

    @property
    def job_id(self) -> JobId:
        return self.record.job_id

    def _save(self, **changes: Any) -> JobRecord:
        self.record = self.ctx.state.update(self.record, **changes)
        return self.record

    def _time_left(self) -> int:
        return self.record.deadline - self.ctx.chain_time()

    def _sealed(self) -> bool:
        """Whether the job is confidential (its bundle sealed): no log of it leaves the node."""
        sealing = self.ctx.sealing
        try:
            return sealing is not None and sealing.is_sealed(self.ctx.bundles.get(self.record.bundle_cid))
        except BundleProblem:
            return False

    def _log_sink(self) -> LogPusher | None:
        return None if self._sealed() else self.ctx.log_sink(self.job_id)

    def run(self) -> JobRecord:
        """Drive the job until it ends or the node stops (then it stays resumable)."""
        self._pusher = self._pusher or self._log_sink()
        delay = 0.5
        try:
            while self.record.active and not self.ctx.stop.is_set():
                phase = self.record.phase
                try:
                    if phase is Phase.CLAIMED:
                        self._start()
                    elif phase is Phase.RUNNING:
                        self._wait()
                    elif phase is Phase.FINISHED:
                        self._submit()
                    else:
                        break
                except RpcUnreachable as exc:
                    # A phase left by a lost chain link resumes as after a restart: its record says where.
                    log.warning(
                        "job %d: the chain is unreachable (%s); retrying in %.1f s", self.job_id, exc, delay
                    )
                    self.ctx.stop.wait(delay)
                    delay = min(delay * 2, 15.0)
                    continue
                delay = 0.5
        except Exception as exc:  # a worker must leave a record behind, never die silently
            log.exception("job %d: the node failed while handling it", self.job_id)
            self._save(phase=Phase.FAILED, note=f"node error: {exc!r}")
        finally:
            if self._pusher is not None and not self.record.active:
                # The job is over here: its log is complete (delivered in the background, never waited
                # for). A node that stops mid-job keeps the spool open for the restart to go on with.
                self._pusher.close(wait=False)
        return self.record

    # -- start ---------------------------------------------------------------------------------------

    def _input(self) -> Bundle:
        """The bundle the run reads: the cached one, or for a confidential job its opened copy."""
        return self._opened or self.ctx.bundles.get(self.record.bundle_cid)

    def _request(self, execution_id: ExecutionId) -> ExecutionRequest:
        bundle = self._input()
        manifest = bundle.manifest
        left = self._time_left() - self.ctx.config.submit_margin_s
        return request_for_manifest(
            manifest,
            execution_id=execution_id,
            job_id=self.job_id,
            input_dir=bundle.path,
            output_dir=self.ctx.config.runs_dir / execution_id / "output",
            timeout_s=max(1, min(manifest.resources.timeout_s, left)),
        )

    def _start(self) -> None:
        if self._time_left() <= self.ctx.config.submit_margin_s:
            self._expire("no time left before the deadline to run it")
            return
        if self.record.execution_id is not None and self._known_to_executor(self.record.execution_id):
            self.reattach = True
            self._save(phase=Phase.RUNNING)
            return
        if self._sealed() and not self._open_sealed():
            return
        execution_id = execution_id_for(self.record, self.ctx.market.me)
        # Saved before the start: a crash in between leaves an id to look for, never an orphan.
        self._save(execution_id=execution_id, tries=self.record.tries + 1)
        try:
            request = self._request(execution_id)
            shutil.rmtree(request.output_dir, ignore_errors=True)
            request.output_dir.mkdir(parents=True)
            self._pusher = self._pusher or self._log_sink()
            self.ctx.executor.start(
                request, on_log=self._pusher.output(execution_id) if self._pusher else None
            )
            self._meter_start()
        except (ExecutorError, BundleProblem, OSError) as exc:
            self._retry_or_fail(f"could not start the execution: {exc}")
            return
        log.info("job %d: execution %s started", self.job_id, execution_id)
        self._save(phase=Phase.RUNNING, started_at=time.time())

    def _open_sealed(self) -> bool:
        """A confidential job's bundle opened for the run; False while the key is awaited or when the claim
        was given back (docs/confidential.md)."""
        sealing = self.ctx.sealing
        assert sealing is not None
        job = self.ctx.market.job(self.job_id).job
        cached = self.ctx.bundles.get(self.record.bundle_cid)
        ready = sealing.prepare(self.job_id, self.record.attempt, cached, job, self.ctx.chain_time())
        if ready.released is not None:
            self._save(phase=Phase.RELEASED, note=ready.released)
            return False
        if ready.bundle is None:
            if self.record.note != AWAITING_KEY:
                log.info("job %d: waiting for the requester to release the content key", self.job_id)
                self._save(note=AWAITING_KEY)
            self.ctx.stop.wait(0.2)
            return False
        self._opened = ready.bundle
        return True

    def _known_to_executor(self, execution_id: ExecutionId) -> bool:
        try:
            return any(found.execution_id == execution_id for found in self.ctx.executor.find_running())
        except ExecutorError:
            return False

    def _meter_start(self) -> None:
        gpus = self.ctx.bundles.get(self.record.bundle_cid).manifest.resources.gpus
        self._meter = EnergyMeter(settings=self.ctx.energy, gpu_indices=range(gpus))
        self._meter.start()

    def _retry_or_fail(self, reason: str) -> None:
        if self._meter is not None:
            self._meter.stop()
            self._meter = None
        if self.record.tries < MAX_TRIES and self._time_left() > 2 * self.ctx.config.submit_margin_s:
            log.warning(
                "job %d: %s; trying again (try %d of %d)", self.job_id, reason, self.record.tries, MAX_TRIES
            )
            self._save(phase=Phase.CLAIMED, execution_id=None, note=reason)
            self.ctx.stop.wait(1.0)
        else:
            self._fail(reason)

    # -- wait ----------------------------------------------------------------------------------------

    def _wait(self) -> None:
        execution_id = self.record.execution_id or ExecutionId("")
        executor = self.ctx.executor
        if self.reattach:
            self.reattach = False
            self._pusher = self._pusher or self._log_sink()
            try:
                # The container's output is replayed from the start: the spool skips what it holds.
                on_log = self._pusher.output(execution_id) if self._pusher else None
                executor.reattach(execution_id, on_log=on_log)
                self._meter_start()
            except ExecutorError as exc:
                self._retry_or_fail(f"its execution {execution_id} is gone ({exc})")
                return
            log.info("job %d: re-attached to execution %s", self.job_id, execution_id)
        while not self.ctx.stop.is_set():
            try:
                result = executor.wait(execution_id, timeout=0.5)
            except WaitTimeout:
                continue
            except ExecutorError as exc:
                if self.ctx.stop.is_set():
                    return  # the node is shutting down; the next start re-attaches
                self._retry_or_fail(f"lost track of execution {execution_id}: {exc}")
                return
            self._finished(result)
            return

    def _finished(self, result: ExecutionResult) -> None:
        exited = result.finished_at.timestamp() if result.finished_at else time.time()
        energy = self._meter.stop(cpu_seconds=result.cpu_seconds) if self._meter else None
        self._meter = None
        if self._pusher is not None:
            self._pusher.add(f"[provider: execution ended {result.state.value}: {result.reason}]")
        if result.state in _NODE_FAULTS:
            self._retry_or_fail(f"execution {result.execution_id} was lost: {result.reason}")
            return
        outcome = None if result.ok else self._job_fault(result)
        if not result.ok and outcome is None:
            ended = f"{result.state.value}: {result.reason}"
            self._fail(f"the job failed by its own fault, in a way no failure report can show ({ended})")
            return
        if outcome is not None:
            log.warning("job %d: the job %s (%s): reporting the failure", self.job_id, outcome, result.reason)
            if self._pusher is not None:
                self._pusher.add(f"[provider: the job {outcome}; submitting a failure report]")
        for attempt in range(1, MAX_TRIES + 1):
            try:
                record = self._pack(result, energy.to_dict() if energy else None, outcome)
            except CommitmentError as exc:
                self._fail(f"the job wrote an unusable checkpoint list: {exc}")
                return
            except (StoreError, OSError) as exc:  # the node's side: the output is still on disk
                if attempt == MAX_TRIES:
                    self._fail(f"could not pack and pin the output: {exc}")
                    return
                if self.ctx.stop.wait(2.0 * attempt):
                    return  # shutting down: still `running`, so a restart runs it again
                log.warning("job %d: packing or pinning the output failed (%s); retrying", self.job_id, exc)
                continue
            self._save(phase=Phase.FINISHED, exited_at=exited, result=record)
            if energy is not None and self.ctx.reporter is not None:
                self.ctx.reporter.energy(self.job_id, energy.to_dict())
            return

    def _job_fault(self, result: ExecutionResult) -> FailureOutcome | None:
        """The failure to report when the job failed by its own fault; None when the node may have caused
        it (cancelled, lost) or the run had less than the job's declared time (the deadline cut it)."""
        outcome = FailureOutcome.of(result)
        if outcome is not None and outcome.kind is FailureKind.TIMEOUT:
            declared = self.ctx.bundles.get(self.record.bundle_cid).manifest.resources.timeout_s
            if result.duration_s is None or result.duration_s + 1.0 < declared:
                return None
        return outcome

    def _pack(
        self, result: ExecutionResult, energy: dict[str, Any] | None, failure: FailureOutcome | None = None
    ) -> ResultRecord:
        manifest = self.ctx.bundles.get(self.record.bundle_cid).manifest
        run_dir = self.ctx.config.runs_dir / (self.record.execution_id or "")
        output = run_dir / "output"
        folder = output
        for part in PurePosixPath(manifest.outputs.path).parts:
            folder = folder / part
            if folder.is_symlink():  # written by the job: never followed out of its output folder
                if failure is not None:
                    break  # the failure is reported all the same, without checkpoints
                raise CommitmentError(f"outputs.path {manifest.outputs.path!r} passes through a symlink")
        report = None
        if failure is not None:  # the report (record and checkpoints) is what gets packed
            report = write_failure_report(
                folder if not folder.is_symlink() else run_dir / "none",
                run_dir / "failure-report",
                failure,
                result.reason,
                max_bytes=manifest.outputs.max_size_mib * 1024 * 1024,
            )
            folder = run_dir / "failure-report"
        commitment = checkpoint_commitment(folder)
        run_dir.mkdir(parents=True, exist_ok=True)
        if self.ctx.sealing is not None and self._sealed():
            # The commitment is over the plaintext; what leaves the node is sealed (docs/confidential.md).
            self.ctx.sealing.seal_result(folder, self.job_id, self.record.attempt)
            self.ctx.sealing.forget_bundle(self.job_id, self.record.attempt)
        # A job cannot make its success look like a failure report: a record it wrote itself is left out.
        packed = pack_output(folder, run_dir / "result.tar", leave_out=() if report else (FAILURE_RECORD,))
        cid = self.ctx.store.add_file(packed.path, pin=True)
        digest, codec = cid.to_chain()
        # The store holds the result now. The run's folder (a file per checkpoint: ~0.3 s to unlink on a busy
        # disk) goes in the background, not between the job's end and its submission.
        threading.Thread(
            target=shutil.rmtree, args=(run_dir,), kwargs={"ignore_errors": True}, daemon=True
        ).start()
        log.info(
            "job %d: result %s pinned (%d files, %d bytes), %d checkpoints",
            self.job_id,
            cid,
            packed.files,
            packed.content_bytes,
            commitment.count,
        )
        return {
            "cid": str(cid),
            "digest": digest.hex(),
            "codec": codec,
            "checkpoint_root": commitment.root.hex(),
            "checkpoint_count": commitment.count,
            "files": packed.files,
            "bytes": packed.content_bytes,
            "execution": result.to_dict(),
            "energy": energy,
            "kwh": energy["kwh"] if energy else None,
            "gco2e": energy["gco2e"] if energy else None,
            "failure": report.to_json() if report else None,
        }

    # -- submit --------------------------------------------------------------------------------------

    def _submit(self) -> None:
        result = self.record.result
        if result is None:  # a finished record always holds its result; a damaged state file may not
            self._fail("its result record is missing from the state file")
            return
        commitment = ResultCommitment(
            result_digest=bytes.fromhex(result["digest"]),
            checkpoint_root=bytes.fromhex(result["checkpoint_root"]),
            checkpoint_count=int(result["checkpoint_count"]),
            result_codec=int(result["codec"]),
        )
        self._publish(Cid.parse(result["cid"]))
        delay = 0.5
        while not self.ctx.stop.is_set():
            if self._time_left() < 0:
                self._expire("the deadline passed before the result could be submitted")
                return
            try:
                self.ctx.market.submit_result(self.job_id, commitment)
            except ContractRevert as exc:
                self._submit_refused(exc)
                return
            except ChainError as exc:
                log.warning("job %d: submitting failed (%s); retrying in %.1f s", self.job_id, exc, delay)
                self.ctx.stop.wait(delay)
                delay = min(delay * 2, 15.0)
                continue
            self._save(phase=Phase.SUBMITTED, submitted_at=time.time(), note="")
            what = "failure report" if result.get("failure") else "result"
            log.info("job %d: %s %s submitted", self.job_id, what, result["cid"])
            self._reseal()
            return

    def _reseal(self) -> None:
        """A confidential job's keys sealed to its committee as soon as the seed block draws it (the daemon
        tries again each round when this does not get there, and for every appeal round)."""
        sealing = self.ctx.sealing
        if sealing is None or not self._sealed():
            return
        for _ in range(100):
            if sealing.reseal(self.job_id, self.record.attempt) or self.ctx.stop.wait(0.1):
                return

    def _publish(self, cid: Cid) -> None:
        """Upload the result to the gateway, where validators and the requester look for it, before it is
        submitted; retried while the deadline leaves room, never a reason not to submit (`publish`)."""
        config = self.ctx.config
        if not config.gateway_url:
            return
        room = self._time_left() - config.submit_margin_s
        publish_result(
            config.gateway_url,
            self.ctx.market.signer,
            config.gateway_chain_id or self.ctx.market.rpc.chain_id,
            self.ctx.store,
            self.job_id,
            cid,
            max_wait_s=max(0.0, min(float(room), config.publish_max_wait_s)),
            stop=self.ctx.stop,
        )

    def _submit_refused(self, exc: ContractRevert) -> None:
        if exc.error_name == "SubmitDeadlinePassed":
            self._expire(exc.message)
            return
        if exc.error_name == "JobNotInStatus" and self._already_submitted():
            self._save(phase=Phase.SUBMITTED, submitted_at=self.record.submitted_at or time.time())
            log.info("job %d: the result was already on chain", self.job_id)
            return
        self._fail(f"the market refused the result: {exc.message}")

    def _already_submitted(self) -> bool:
        try:
            view = self.ctx.market.job(self.job_id)
        except ChainError:
            return False
        return view.status == JobStatus.SUBMITTED and view.job.state.provider == self.ctx.market.me

    # -- endings -------------------------------------------------------------------------------------

    def _fail(self, reason: str) -> None:
        log.error(
            "job %d: %s. Submitting nothing: the job will expire and its collateral of %s will be slashed",
            self.job_id,
            reason,
            token_amount(self.record.collateral),
        )
        self._save(phase=Phase.FAILED, note=reason)

    def _expire(self, reason: str) -> None:
        log.warning("job %d: %s; it can now only expire", self.job_id, reason)
        self._save(phase=Phase.EXPIRED, note=reason)
