"""Warm replays: a job's runtime container started when the job is claimed, waiting with torch imported.

A validator cannot know its seats before the result is submitted (the seed is the block after it), but any
validator on the roster may be drawn. So on `JobClaimed` the daemon asks `WarmPool.prepare` to fetch the job's
bundle, stage the replay input (the bundle and `warm_entry.py` in `REPLAY_DIR`) and start the job's container
with the manifest's image, limits and hardening, as a cold replay is started (no network, read-only root,
capabilities dropped, a user without privileges), but running `warm_entry.py`, which imports torch and waits.
It waits at the lowest CPU weight (`idle_priority`): its import takes only CPU the provider's run leaves idle,
and its go lifts it to the normal weight (`Prioritizing`).

Drawn, the verification `take`s it and `run`s the replay: the sampled checkpoints are copied into the input it
mounts read-only, `go.json` names the replay variables, and the container runs the job's own script with them,
as a cold one would (same digests: `tests/validator/test_warm_replays.py`). Not drawn, the job settled,
cancelled, expired or reopened: `discard`. At most `limit` containers wait at once; one left waiting longer
than `idle_s` is removed (and stops by itself then). Each is named and labelled after the node
(`warm-<job>-<attempt>-<address>`), so a restarted node finds and removes what an earlier run left (`tidy`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chain import Job, JobId, VerificationMode
from jobs.bundle import Bundle, BundleCache, BundleProblem, bundle_cid
from jobs.executors import (
    ExecutionId,
    Executor,
    ExecutorError,
    Prioritizing,
    WaitTimeout,
    request_for_manifest,
)
from validator.reexecute import (
    CONTAINER_INPUT,
    REPLAY_DIR,
    REPLAY_OUTPUT_LIMIT,
    Reexecution,
    discard_replay,
    read_replay,
    stage_input,
)

__all__ = ["WARM_MODES", "WarmPool", "WarmReplay", "warm_execution_id"]

log = logging.getLogger(__name__)

ENTRY = Path(__file__).with_name("warm_entry.py")
GO_FILE = "go.json"  # warm_entry.GO_FILE
WARM_MODES = frozenset({VerificationMode.SEGMENTS, VerificationMode.SHARDS})
_WARM_ID = re.compile(r"warm-(\d+)-(\d+)-(0x[0-9a-f]{40})")
_PYTHONS = re.compile(r"python(3(\.\d+)?)?")
_PREPARE_WAIT_S = 60.0  # a verification waits this long at most for a warm-up still under way


def warm_execution_id(job_id: JobId, attempt: int, node: str) -> ExecutionId:
    return ExecutionId(f"warm-{job_id}-{attempt}-{node}")


@dataclass(frozen=True)
class WarmReplay:
    """A started container waiting for its go."""

    job_id: JobId
    attempt: int
    execution_id: ExecutionId
    input_dir: Path
    output_dir: Path
    started_at: float  # monotonic


class WarmPool:
    def __init__(
        self,
        executor: Executor,
        bundles: BundleCache,
        node: str,
        folder: Callable[[JobId, int], Path],
        *,
        limit: int = 2,
        idle_s: float = 900.0,
    ) -> None:
        self.executor = executor
        self.bundles = bundles
        self.node = node  # the node's address tag
        self.folder = folder  # where a seat's work lives (`Verifier.folder`)
        self.limit = limit
        self.idle_s = idle_s
        self._lock = threading.Lock()
        self._ready: dict[tuple[JobId, int], WarmReplay] = {}
        self._preparing: dict[tuple[JobId, int], threading.Thread] = {}
        self.used: list[ExecutionId] = []  # the warm replays that ran a replay, oldest first

    def __len__(self) -> int:
        with self._lock:
            return len(self._ready) + len(self._preparing)

    def waiting(self, timeout: float = _PREPARE_WAIT_S) -> list[ExecutionId]:
        """The replays waiting for a go, once the warm-ups under way have ended (at most `timeout`)."""
        with self._lock:
            threads = list(self._preparing.values())
        for thread in threads:
            thread.join(timeout)
        with self._lock:
            return [warm.execution_id for warm in self._ready.values()]

    # -- starting --------------------------------------------------------------------------------------

    def prepare(self, job_id: JobId, attempt: int, job: Job) -> bool:
        """Start warming a replay for the job's attempt on a thread of its own; False when it does not apply
        (mode, entry point, the limit reached, or one there already)."""
        key = (job_id, attempt)
        if self.limit < 1 or VerificationMode(job.spec.mode) not in WARM_MODES:
            return False
        if any(
            bytes(job.spec.result_key)
        ):  # confidential: its bundle opens only once the provider seals keys
            return False
        with self._lock:
            if key in self._ready or key in self._preparing:
                return False
            if len(self._ready) + len(self._preparing) >= self.limit:
                log.info("job %d: no warm replay (%d wait already, the limit)", job_id, self.limit)
                return False
            thread = threading.Thread(
                target=self._prepare, args=(key, job), name=f"warm-{job_id}", daemon=True
            )
            self._preparing[key] = thread
        thread.start()
        return True

    def _prepare(self, key: tuple[JobId, int], job: Job) -> None:
        job_id, attempt = key
        warm: WarmReplay | None = None
        try:
            bundle = self.bundles.get(bundle_cid(job.spec.bundle_digest, job.spec.bundle_codec))
            warm = self._start(job_id, attempt, bundle)
        except BundleProblem as problem:
            log.info("job %d: no warm replay: its bundle cannot be used here (%s)", job_id, problem.reason)
        except (ExecutorError, OSError) as exc:
            log.warning("job %d: the warm replay did not start (%s); a drawn seat replays cold", job_id, exc)
        except Exception:  # a warm-up is an optimisation: it never takes the node down
            log.exception("job %d: the warm replay failed to start", job_id)
        with self._lock:
            self._preparing.pop(key, None)
            if warm is not None:
                self._ready[key] = warm

    def _start(self, job_id: JobId, attempt: int, bundle: Bundle) -> WarmReplay | None:
        entry = tuple(bundle.manifest.runtime.entrypoint)
        if len(entry) < 2 or not _PYTHONS.fullmatch(os.path.basename(entry[0])) or entry[1].startswith("-"):
            log.info("job %d: no warm replay: its entry point %s is not `python3 <script>`", job_id, entry)
            return None
        folder = self.folder(job_id, attempt)
        staged = stage_input(bundle, [(ENTRY, ENTRY.name)], folder / "input")
        output = folder / "output"
        shutil.rmtree(output, ignore_errors=True)
        output.mkdir(parents=True)
        execution_id = warm_execution_id(job_id, attempt, self.node)
        request = request_for_manifest(
            bundle.manifest,
            execution_id=execution_id,
            job_id=job_id,
            input_dir=staged,
            output_dir=output,
            output_limit_bytes=REPLAY_OUTPUT_LIMIT,
            labels={"role": "validator-warm"},
        )
        # Waiting, it takes only CPU nobody else wants: on a machine shared with the job's provider (the
        # demo's, a node that also provides), its torch import does not slow the run it is waiting for.
        script = f"{CONTAINER_INPUT}/{REPLAY_DIR}/{ENTRY.name}"
        request = dataclasses.replace(
            request,
            argv=(entry[0], script, f"{self.idle_s:g}", *entry[1:]),
            timeout_s=request.timeout_s + self.idle_s,  # the wait, then the job's own limit
            idle_priority=True,
        )
        self.executor.start(request)
        log.info("job %d: warm replay %s started: torch loads while the job runs", job_id, execution_id)
        return WarmReplay(job_id, attempt, execution_id, staged, output, time.monotonic())

    # -- using -----------------------------------------------------------------------------------------

    def take(self, job_id: JobId, attempt: int) -> WarmReplay | None:
        """The job's warm replay, still waiting, for the caller to `run` (then it is the caller's); None when
        there is none (the caller replays cold)."""
        key = (job_id, attempt)
        with self._lock:
            thread = self._preparing.get(key)
        if thread is not None:
            thread.join(_PREPARE_WAIT_S)
        with self._lock:
            warm = self._ready.pop(key, None)
        if warm is None:
            return None
        try:
            ended = self.executor.wait(warm.execution_id, timeout=0)
        except WaitTimeout:
            return warm  # still waiting for its go
        except ExecutorError as exc:
            log.info("job %d: the warm replay is gone (%s); replaying cold", job_id, exc)
            return None
        log.info("job %d: the warm replay ended before its go (%s); replaying cold", job_id, ended.reason)
        return None

    def run(self, warm: WarmReplay, files: list[tuple[Path, str]], env: dict[str, str]) -> Reexecution:
        """Hand the replay its checkpoints and variables, and wait for it (as `reexecute.run_job` does)."""
        replay = warm.input_dir / REPLAY_DIR
        for source, name in files:
            if source.is_file() and not source.is_symlink():
                shutil.copyfile(source, replay / name)
        pending = replay / f".{GO_FILE}.tmp"
        pending.write_text(json.dumps({"env": env}))
        os.replace(pending, replay / GO_FILE)  # the container sees the whole request or none
        began = time.monotonic()
        self._prioritize(warm)
        with self._lock:
            self.used.append(warm.execution_id)
        result = self.executor.wait(warm.execution_id)
        log.info(
            "job %d: warm replay %s ended %s (%s) %.1f s after its go, %.2f CPU s in all",
            warm.job_id,
            warm.execution_id,
            result.state.value,
            result.reason,
            time.monotonic() - began,
            result.cpu_seconds or 0.0,
        )
        return Reexecution(result, warm.output_dir, read_replay(warm.output_dir / "replay.json"))

    def _prioritize(self, warm: WarmReplay) -> None:
        """The replay is the node's work now: the normal CPU weight (set after the go, not waited for)."""
        if not isinstance(self.executor, Prioritizing):
            return
        try:
            self.executor.prioritize(warm.execution_id)
        except ExecutorError as exc:
            log.warning("job %d: the warm replay keeps its idle CPU weight (%s)", warm.job_id, exc)

    # -- letting go ------------------------------------------------------------------------------------

    def discard(self, job_id: JobId, why: str, attempt: int | None = None) -> None:
        """Stop and remove the job's waiting replays (of `attempt`, or every attempt), and their input."""
        with self._lock:
            threads = [t for (j, a), t in self._preparing.items() if j == job_id and attempt in (None, a)]
        for thread in threads:
            thread.join(_PREPARE_WAIT_S)
        with self._lock:
            keys = [key for key in self._ready if key[0] == job_id and attempt in (None, key[1])]
            gone = [self._ready.pop(key) for key in keys]
        for warm in gone:
            self._remove(warm.execution_id, warm.input_dir.parent, why)

    def expire(self) -> None:
        """Remove the replays that waited longer than `idle_s` for a go."""
        now = time.monotonic()
        with self._lock:
            old = [key for key, warm in self._ready.items() if now - warm.started_at > self.idle_s]
            gone = [self._ready.pop(key) for key in old]
        for warm in gone:
            self._remove(warm.execution_id, warm.input_dir.parent, f"no go within {self.idle_s:g} s")

    def tidy(self) -> list[str]:
        """At start: remove the warm replays an earlier run of this node left on the engine."""
        try:
            found = self.executor.find_running()
        except ExecutorError as exc:
            log.warning("cannot list the warm replays an earlier run may have left: %s", exc)
            return []
        removed = []
        for execution in found:
            match = _WARM_ID.fullmatch(execution.execution_id)
            if match is None or match.group(3) != self.node:
                continue
            job_id, attempt = JobId(int(match.group(1))), int(match.group(2))
            self._remove(execution.execution_id, self.folder(job_id, attempt), "left by an earlier run")
            removed.append(str(execution.execution_id))
        return removed

    def close(self) -> None:
        """Remove every waiting replay (the node stops)."""
        with self._lock:
            jobs = {key[0] for key in [*self._ready, *self._preparing]}
        for job_id in jobs:
            self.discard(job_id, "the node stops")

    def _remove(self, execution_id: ExecutionId, folder: Path, why: str) -> None:
        discard_replay(self.executor, execution_id, f"warm replay: {why}")
        shutil.rmtree(folder / "input", ignore_errors=True)
        shutil.rmtree(folder / "output", ignore_errors=True)
