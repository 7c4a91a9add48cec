"""Verifying one submission: fetch what the provider committed, re-execute the sample, reach a verdict.

`Verifier.verify(submission)` returns a `Verdict` or raises `ResultUnavailable` when the provider's
result cannot be had yet (the daemon retries, and votes "withheld" once the provider had its fair time).
Problems of this node (no engine, no image) end in an abstention, never in a vote against the provider.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chain import Job, JobId, VerificationMode
from jobs.bundle import (
    Bundle,
    BundleCache,
    BundleError,
    BundleLimits,
    BundleProblem,
    bundle_cid,
    extract_bundle,
    pack_output,
)
from jobs.cid import Cid
from jobs.commitments import CHECKPOINT_MANIFEST, CommitmentError, checkpoint_commitment, checkpoint_digests
from jobs.executors import ExecutionId, Executor
from jobs.failure import (
    FAILURE_RECORD,
    FailureKind,
    FailureRecordError,
    is_failure_report,
    read_failure_record,
)
from jobs.sampling import sample_indices
from jobs.sealing.results import MARKER as SEALED_MARKER
from jobs.store import BlockNotFound, ContentStore, CorruptDag, NotAFile, StoreError
from node_base import address_tag
from validator.confidential import KeyWithheld, SeatKeys, ValidatorSealing, is_confidential
from validator.errors import ResultUnavailable
from validator.reexecute import (
    ExecutorError,
    Reexecution,
    find_replay,
    reattach_job,
    replay_env,
    replay_execution_id,
    run_job,
    seed_output,
    stage_input,
)
from validator.verdict import (
    BAD_COMMITMENT,
    KEY_WITHHELD,
    Verdict,
    abstain,
    check_commitment,
    judge_failure,
    judge_replicate,
    judge_segments,
    judge_shards,
    reject,
    resource_finding,
)
from validator.warm import WarmPool

__all__ = ["Submission", "Verifier"]

log = logging.getLogger(__name__)

MIB = 1024 * 1024


@dataclass(frozen=True)
class Submission:
    """A result as submitted on chain, and the seed that decides this validator's sample."""

    job_id: JobId
    attempt: int
    job: Job
    result_cid: Cid
    checkpoint_root: bytes
    checkpoint_count: int
    seed: bytes

    @property
    def key(self) -> str:
        return f"{self.job_id}-{self.attempt}"


class Verifier:
    def __init__(
        self,
        store: ContentStore,
        executor: Executor,
        bundles: BundleCache,
        work_dir: Path,
        me: str,
        sealing: ValidatorSealing | None = None,
    ) -> None:
        self.sealing = sealing  # confidential jobs' keys (None: this node verifies none)
        self.store = store
        self.executor = executor
        self.bundles = bundles
        self.work_dir = work_dir
        self.me = me
        self.warm: WarmPool | None = None  # replays started ahead (`validator.warm`), set by the daemon

    def folder(self, job_id: JobId, attempt: int) -> Path:
        """One seat's work: the provider's result, the staged replay input, the replay's output. Named
        with this node's address, so validators sharing a disk never remove each other's."""
        return self.work_dir / f"{job_id}-{attempt}-{address_tag(self.me)}"

    def execution_id(self, submission: Submission, tries: int) -> ExecutionId:
        """The replay's execution (its container is named after it): per seat, node and try."""
        return replay_execution_id(submission.job_id, submission.attempt, address_tag(self.me), tries)

    def sample(self, submission: Submission, population: int) -> list[int]:
        spec = submission.job.spec
        return sample_indices(
            submission.seed, submission.job_id, self.me, spec.samples_per_validator, population
        )

    def verify(self, submission: Submission, *, tries: int = 0) -> Verdict:
        spec = submission.job.spec
        if spec.mode == VerificationMode.NONE:
            return abstain("the job asked for optimistic verification (mode none): nothing to re-execute")
        try:
            bundle = self.bundles.get(bundle_cid(spec.bundle_digest, spec.bundle_codec))
        except BundleProblem as problem:
            return abstain(f"its bundle cannot be used here: {problem.reason}")
        folder = self.folder(submission.job_id, submission.attempt)
        keys: SeatKeys | None = None
        try:
            if self.sealing is not None and is_confidential(submission.job):
                keys = self.sealing.seat_keys(submission.job_id, submission.job)  # KeysUnavailable: wait
                bundle = self.sealing.open_bundle(bundle, submission.job_id, keys, folder)
            result_dir = self._fetch_result(submission, bundle, folder, self._needed(submission, bundle))
            if keys is not None:
                assert self.sealing is not None
                self.sealing.open_result(result_dir, submission.job_id, submission.attempt, keys)
            if is_failure_report(result_dir):
                verdict = self._failure_report(submission, bundle, folder, tries)
            elif spec.mode == VerificationMode.REPLICATE:
                verdict = self._replicate(submission, bundle, folder, tries)
            else:
                verdict = self._sampled(submission, bundle, result_dir, folder, tries)
        except ExecutorError as exc:
            verdict = abstain(f"the container engine could not re-execute it: {exc}")
        except KeyWithheld as exc:
            verdict = reject(str(exc), KEY_WITHHELD, submission.result_cid.digest)
        # Not on the way out of a death: a replay container may still run on this input, to be re-attached.
        shutil.rmtree(folder / "input", ignore_errors=True)
        return verdict

    # -- the provider's result -------------------------------------------------------------------------

    def _needed(self, submission: Submission, bundle: Bundle) -> Callable[[str], bool] | None:
        """Which of the result's files the verdict reads (None: all). A result holds every checkpoint
        (the digits example: a thousand of ~62 KB), a replay reads a handful. The sample drawn from the
        committed count is the one `_sampled` draws whenever the result's list matches the commitment;
        when it does not, the verdict is a rejection that reads the list alone."""
        mode = submission.job.spec.mode
        names = {CHECKPOINT_MANIFEST.as_posix(), FAILURE_RECORD, SEALED_MARKER}
        if mode == VerificationMode.SEGMENTS:
            last = submission.checkpoint_count - 1
            sampled = self.sample(submission, last) if last >= 1 else []
            names |= {_checkpoint_member(i) for i in _replayed_checkpoints(bundle, sampled, last)}
            names.add("model.pt")
        elif mode not in (VerificationMode.SHARDS, VerificationMode.REPLICATE):
            return None
        return names.__contains__

    def _fetch_result(
        self,
        submission: Submission,
        bundle: Bundle,
        folder: Path,
        select: Callable[[str], bool] | None = None,
        name: str = "result",
    ) -> Path:
        dest = folder / name
        if dest.is_dir():
            return dest
        folder.mkdir(parents=True, exist_ok=True)
        cap = bundle.manifest.outputs.max_size_mib * MIB
        limits = BundleLimits(max_total_bytes=cap, max_file_bytes=cap, max_ratio=float("inf"))
        try:
            with self.store.open(submission.result_cid) as stream:
                extract_bundle(stream, dest, limits, select=select)
        except BlockNotFound as exc:
            shutil.rmtree(dest, ignore_errors=True)
            raise ResultUnavailable(
                f"result {submission.result_cid} is not in the store: {exc}", missing=True
            ) from None
        except (CorruptDag, NotAFile) as exc:
            # Every block hashed right but they do not form a file: what the provider published is
            # unusable, which counts against it like a result that is not there at all.
            shutil.rmtree(dest, ignore_errors=True)
            raise ResultUnavailable(
                f"result {submission.result_cid} is not a file in the store: {exc}", missing=True
            ) from None
        except StoreError as exc:
            shutil.rmtree(dest, ignore_errors=True)
            raise ResultUnavailable(f"the content store failed: {exc}", missing=False) from None
        except (BundleError, ValueError) as exc:
            shutil.rmtree(dest, ignore_errors=True)
            raise ResultUnavailable(
                f"result {submission.result_cid} is not a usable archive: {exc}", missing=True
            ) from None
        return dest

    # -- segments and shards -----------------------------------------------------------------------------

    def _sampled(
        self, submission: Submission, bundle: Bundle, result: Path, folder: Path, tries: int
    ) -> Verdict:
        spec = submission.job.spec
        try:
            digests = checkpoint_digests(result)
        except CommitmentError as exc:
            return reject(
                f"its checkpoint list is unusable: {exc}", BAD_COMMITMENT, submission.checkpoint_root
            )
        if not digests and submission.checkpoint_count:
            return reject(
                f"the result holds no {CHECKPOINT_MANIFEST}: the committed checkpoints were withheld",
                BAD_COMMITMENT,
                submission.checkpoint_root,
            )
        shards = spec.mode == VerificationMode.SHARDS
        population = len(digests) if shards else len(digests) - 1
        if population < 1:
            return reject("the result commits no work to check", BAD_COMMITMENT, submission.checkpoint_root)
        sampled = self.sample(submission, population)
        leaves = sampled if shards else sorted({0, len(digests) - 1, *sampled, *(i + 1 for i in sampled)})
        bad = check_commitment(digests, submission.checkpoint_root, submission.checkpoint_count, leaves)
        if bad is not None:
            return bad
        if shards:
            labels = [f"shard {i}" for i in sampled]
            files: list[tuple[Path, str]] = []
            env = replay_env(shards=",".join(map(str, sampled)))
        else:
            labels = ["init", *map(str, sampled), "final"]
            wanted = _replayed_checkpoints(bundle, sampled, len(digests) - 1)
            files = [(result / _checkpoint_member(i), f"ckpt_{i}.pt") for i in wanted]
            files.append((result / "model.pt", "model.pt"))
            env = replay_env(segments=",".join(labels))
        run = self._run(submission, bundle, folder, files, env, tries)
        if run.document is None:
            finding = resource_finding(run.result, "replay", submission.checkpoint_root)
            if finding is not None:
                return finding.with_cost(labels, run.cpu_s)
            return abstain(
                f"the replay wrote no replay.json ({run.result.state.value}: {run.result.reason})"
            ).with_cost(labels, run.cpu_s)
        if shards:
            verdict = judge_shards(run.document, digests, sampled)
        else:
            verdict = judge_segments(
                run.document, digests, sampled, tolerance=bundle.manifest.verification.tolerance
            )
        return verdict.with_cost(labels, run.cpu_s)

    def _run(
        self,
        submission: Submission,
        bundle: Bundle,
        folder: Path,
        files: list[tuple[Path, str]],
        env: dict[str, str],
        tries: int,
        *,
        output_limit: int | None = None,
        output_seed: Path | None = None,
    ) -> Reexecution:
        earlier = find_replay(self.executor, submission.job_id, submission.attempt, address_tag(self.me))
        if earlier is not None:  # started before this node restarted: its result is as good as a new one
            adopted = reattach_job(self.executor, earlier, submission.job_id, folder / "output")
            if adopted.result.ok:
                return adopted
            log.info("job %d: the re-attached replay did not finish well; replaying anew", submission.job_id)
        if self.warm is not None and output_limit is None and output_seed is None:
            warm = self.warm.take(submission.job_id, submission.attempt)
            if warm is not None:  # started when the job was claimed: torch is loaded, the replay runs at once
                return self.warm.run(warm, files, env)
        staged = stage_input(bundle, files, folder / "input")
        return run_job(
            self.executor,
            bundle,
            execution_id=self.execution_id(submission, tries),
            job_id=submission.job_id,
            input_dir=staged,
            output_dir=folder / "output",
            extra_env=env,
            output_seed=output_seed,
            **({"output_limit_bytes": output_limit} if output_limit else {}),
        )

    # -- failure reports ---------------------------------------------------------------------------------

    def _failure_report(self, submission: Submission, bundle: Bundle, folder: Path, tries: int) -> Verdict:
        """The provider says the job failed by its own fault: re-run it honestly, in the limits and time
        the job declares, from the last checkpoint reported (the job resumes from its output folder as
        after a crash; from the start when it wrote none, or for a timeout, which needs the whole time),
        and see whether it fails the same way (`judge_failure`)."""
        report = self._fetch_result(submission, bundle, folder, name="report")  # small: every file
        try:
            record = read_failure_record(report)
            listed = checkpoint_digests(report)
        except (FailureRecordError, CommitmentError) as exc:
            root = submission.checkpoint_root
            return reject(f"its failure report is unusable: {exc}", BAD_COMMITMENT, root)
        if listed != list(record.checkpoints):
            return reject(
                f"its failure record lists {len(record.checkpoints)} checkpoints, its "
                f"{CHECKPOINT_MANIFEST} {len(listed)} others",
                BAD_COMMITMENT,
                submission.checkpoint_root,
            )
        bad = check_commitment(listed, submission.checkpoint_root, submission.checkpoint_count, [])
        if bad is not None:
            return bad
        resume = bool(listed) and record.outcome.kind is not FailureKind.TIMEOUT
        seed = folder / "seed"
        shutil.rmtree(seed, ignore_errors=True)
        if resume:  # the checkpoints alone (their files, when the report could hold them)
            seed_output(report / "checkpoints", seed / "checkpoints")
        limit = bundle.manifest.outputs.max_size_mib * MIB
        start = seed if resume else None
        run = self._run(submission, bundle, folder, [], {}, tries, output_limit=limit, output_seed=start)
        where = f"from checkpoint {record.segment}" if resume else "from the start"
        log.info("job %d: re-ran the reported failure %s: %s", submission.job_id, where, run.result.reason)
        return judge_failure(record.outcome, run.result).with_cost([f"failure report ({where})"], run.cpu_s)

    # -- replicate ---------------------------------------------------------------------------------------

    def _replicate(self, submission: Submission, bundle: Bundle, folder: Path, tries: int) -> Verdict:
        limit = bundle.manifest.outputs.max_size_mib * MIB
        run = self._run(submission, bundle, folder, [], {}, tries, output_limit=limit)
        labels = ["whole job"]
        if not run.result.ok:
            finding = resource_finding(run.result, "re-run", submission.checkpoint_root)
            if finding is not None:
                return finding.with_cost(labels, run.cpu_s)
            return abstain(
                f"the re-run did not finish ({run.result.state.value}: {run.result.reason})"
            ).with_cost(labels, run.cpu_s)
        if submission.checkpoint_count:
            try:
                mine = checkpoint_commitment(run.output_dir)
            except CommitmentError as exc:
                return abstain(f"the re-run wrote an unusable checkpoint list: {exc}").with_cost(
                    labels, run.cpu_s
                )
            verdict = judge_replicate(submission.checkpoint_root, mine.root, "checkpoint root")
        else:
            packed = pack_output(run.output_dir, folder / "rerun.tar")
            cid = self.store.add_file(packed.path, only_hash=True)
            verdict = judge_replicate(submission.result_cid.digest, cid.digest, "result")
        return verdict.with_cost(labels, run.cpu_s)


def _checkpoint_member(index: int) -> str:
    """Where checkpoint `index` lies in a result."""
    return f"checkpoints/ckpt_{index}.pt"


def _replayed_checkpoints(bundle: Bundle, sampled: list[int], last: int) -> list[int]:
    """The checkpoints a segment replay reads: each sampled segment's start, the last one, and with a
    tolerance each sampled segment's end (the distance is measured against it)."""
    wanted = {*sampled, last}
    if bundle.manifest.verification.tolerance is not None:
        wanted |= {i + 1 for i in sampled}
    return sorted(wanted)
