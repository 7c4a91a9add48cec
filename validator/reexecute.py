"""Re-executing a job's work in its own runtime image, sandboxed exactly as a provider runs it.

The executor mounts one read-only input folder, so the validator stages one: a copy of the job's bundle
plus a `.crowdcompute-replay/` folder holding only the provider's files the replay needs (the sampled
checkpoints, the last one and model.pt). The job's own script, built on the SDK, sees the replay
variables and recomputes instead of training (see `sdk.replay` and `sdk.shards`); replay.json comes back
in the output folder. A replicate job runs as the provider ran it, with its full output limit.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chain import JobId
from jobs.bundle import Bundle
from jobs.executors import (
    ExecutionId,
    ExecutionResult,
    Executor,
    ExecutorError,
    request_for_manifest,
    run_to_completion,
)

__all__ = [
    "REPLAY_DIR",
    "Reexecution",
    "ReplayId",
    "discard_replay",
    "find_replay",
    "read_replay",
    "reattach_job",
    "replay_execution_id",
    "replays_of",
    "run_job",
    "seed_output",
    "stage_input",
]

log = logging.getLogger(__name__)

MIB = 1024 * 1024
REPLAY_DIR = ".crowdcompute-replay"  # inside the staged input; the container sees /input/<REPLAY_DIR>
CONTAINER_INPUT = "/input"
REPLAY_OUTPUT_LIMIT = 16 * MIB


@dataclass(frozen=True)
class Reexecution:
    """What came back: the executor's result, the replay document (if any) and the output folder."""

    result: ExecutionResult
    output_dir: Path
    document: Mapping[str, Any] | None

    @property
    def cpu_s(self) -> float | None:
        return self.result.cpu_seconds


@dataclass(frozen=True)
class ReplayId:
    """What a replay's execution id says: the seat (job, attempt), the node (its address tag), the try."""

    job_id: JobId
    attempt: int
    node: str
    tries: int

    @property
    def execution_id(self) -> ExecutionId:
        return replay_execution_id(self.job_id, self.attempt, self.node, self.tries)

    @classmethod
    def parse(cls, execution_id: str) -> ReplayId | None:
        match = _REPLAY_ID.fullmatch(execution_id)
        if match is None:
            return None
        job, attempt, node, tries = match.groups()
        return cls(JobId(int(job)), int(attempt), node, int(tries))


_REPLAY_ID = re.compile(r"verify-(\d+)-(\d+)-(0x[0-9a-f]{40})-(\d+)")


def replay_execution_id(job_id: JobId, attempt: int, node: str, tries: int) -> ExecutionId:
    """The replay's execution id (its container is named after it): per seat, node and try."""
    return ExecutionId(f"verify-{job_id}-{attempt}-{node}-{tries}")


def replays_of(executor: Executor, node: str) -> list[tuple[ReplayId, str]]:
    """This node's replays the engine still holds (a node killed mid-replay leaves them), with the
    engine's word for their state ("running", "exited", ...)."""
    found = []
    for execution in executor.find_running():
        replay = ReplayId.parse(execution.execution_id)
        if replay is not None and replay.node == node:
            found.append((replay, execution.status))
    return found


def find_replay(executor: Executor, job_id: JobId, attempt: int, node: str) -> ExecutionId | None:
    """The newest try of this seat's replay that the engine still holds, if any."""
    mine = [
        replay
        for replay, _ in replays_of(executor, node)
        if (replay.job_id, replay.attempt) == (job_id, attempt)
    ]
    return max(mine, key=lambda replay: replay.tries).execution_id if mine else None


def reattach_job(
    executor: Executor, execution_id: ExecutionId, job_id: JobId, output_dir: Path
) -> Reexecution:
    """Wait for a replay an earlier run of this node started (its input and output folders are where that
    run put them); raises ExecutorError when the engine cannot give it back."""
    executor.reattach(execution_id)
    log.info("job %d: re-attached to replay %s, started before this node restarted", job_id, execution_id)
    result = executor.wait(execution_id)
    log.info("job %d: replay %s ended %s (%s)", job_id, execution_id, result.state.value, result.reason)
    return Reexecution(result, output_dir, read_replay(output_dir / "replay.json"))


def discard_replay(executor: Executor, execution_id: ExecutionId, why: str) -> bool:
    """Stop and remove a replay whose result can no longer be used; False when the engine did not let go."""
    try:
        executor.reattach(execution_id)
        executor.cancel(execution_id)
        executor.wait(execution_id, timeout=60)
    except ExecutorError as exc:
        log.warning("replay %s (%s) could not be removed: %s", execution_id, why, exc)
        return False
    log.info("removed replay %s: %s", execution_id, why)
    return True


def stage_input(bundle: Bundle, provider_files: Iterable[tuple[Path, str]], dest: Path) -> Path:
    """A fresh input folder: the bundle, and each (source, name) copied into `REPLAY_DIR/name` when the
    source exists (a missing one is left out: the replay then reports it, and the provider answers for it)."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(bundle.path, dest, symlinks=True)
    replay = dest / REPLAY_DIR
    replay.mkdir(exist_ok=True)
    for source, name in provider_files:
        if source.is_file() and not source.is_symlink():
            shutil.copyfile(source, replay / name)
    return dest


def replay_env(segments: str | None = None, shards: str | None = None) -> dict[str, str]:
    """The variables that switch the job's script from training to replay."""
    folder = f"{CONTAINER_INPUT}/{REPLAY_DIR}"
    env = {"CROWDCOMPUTE_REPLAY_CHECKPOINT_DIR": folder, "CROWDCOMPUTE_REPLAY_MODEL": f"{folder}/model.pt"}
    if segments is not None:
        env["CROWDCOMPUTE_REPLAY_SEGMENTS"] = segments
    if shards is not None:
        env["CROWDCOMPUTE_REPLAY_SHARDS"] = shards
    return env


def run_job(
    executor: Executor,
    bundle: Bundle,
    *,
    execution_id: ExecutionId,
    job_id: JobId,
    input_dir: Path,
    output_dir: Path,
    extra_env: Mapping[str, str] | None = None,
    output_limit_bytes: int = REPLAY_OUTPUT_LIMIT,
    timeout_s: float | None = None,
    output_seed: Path | None = None,
) -> Reexecution:
    """Run the bundle's entrypoint in its pinned image with the manifest's limits; raises ExecutorError
    when the engine cannot run it at all (the validator then abstains). `output_seed`: a folder copied into
    the job's output folder first (`outputs.path`), as a run that died leaves it, so the job resumes."""
    shutil.rmtree(output_dir, ignore_errors=True)
    output_dir.mkdir(parents=True)
    if output_seed is not None:
        seed_output(output_seed, output_dir / bundle.manifest.outputs.path)
    request = request_for_manifest(
        bundle.manifest,
        execution_id=execution_id,
        job_id=job_id,
        input_dir=input_dir,
        output_dir=output_dir,
        extra_env=extra_env,
        output_limit_bytes=output_limit_bytes,
        timeout_s=timeout_s or None,
        labels={"role": "validator"},  # keys under "crowdcompute." are reserved to the executor
    )
    result = run_to_completion(executor, request)
    log.info(
        "job %d: re-execution %s ended %s (%s) in %.1f s, %.2f CPU s",
        job_id,
        execution_id,
        result.state.value,
        result.reason,
        result.duration_s or 0.0,
        result.cpu_seconds or 0.0,
    )
    return Reexecution(result, output_dir, read_replay(output_dir / "replay.json"))


def seed_output(source: Path, dest: Path) -> None:
    """Copy `source`'s regular files into `dest`, writable by whatever user the sandbox runs the job as
    (the executor hands it the output folder itself, not what is already inside)."""
    dest.mkdir(parents=True, exist_ok=True)
    dest.chmod(0o777)
    if source.is_symlink() or not source.is_dir():
        return
    for folder, _, files in os.walk(source):
        target = dest / Path(folder).relative_to(source)
        target.mkdir(parents=True, exist_ok=True)
        target.chmod(0o777)
        for name in files:
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                shutil.copyfile(path, target / name)
                (target / name).chmod(0o666)


def read_replay(path: Path) -> Mapping[str, Any] | None:
    """The replay document a replay wrote (None: missing, too large, or not a JSON object)."""
    if not path.is_file() or path.is_symlink() or path.stat().st_size > REPLAY_OUTPUT_LIMIT:
        return None
    try:
        document = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError):
        return None
    return document if isinstance(document, dict) else None


__all__ += ["ExecutorError", "replay_env"]
