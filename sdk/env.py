"""What the sandbox tells a job through its environment: folders, thread count, and what to replay.

Folders (set by every executor; the defaults are the container's mount points):

    CROWDCOMPUTE_INPUT_DIR    the unpacked bundle, read-only       (/input)
    CROWDCOMPUTE_OUTPUT_DIR   where results go                     (/output)
    CROWDCOMPUTE_TMP_DIR      scratch space                        (/tmp)

Threads: `TORCH_NUM_THREADS` (set by the executor from the CPU limit; torch does not read it itself),
else `OMP_NUM_THREADS`, else the cgroup CPU quota, else the CPUs this process may run on.

Replay (set by a validator; any of them switches the job from training to replay):

    CROWDCOMPUTE_REPLAY_SEGMENTS        "init,3,17,final": what to recompute, in one process
    CROWDCOMPUTE_REPLAY_SEGMENT         one of the same, alone ("init", "final" or an index)
    CROWDCOMPUTE_REPLAY_CHECKPOINT_DIR  a folder of the provider's `ckpt_<i>.pt` files
    CROWDCOMPUTE_REPLAY_CHECKPOINT      the one checkpoint file for CROWDCOMPUTE_REPLAY_SEGMENT
    CROWDCOMPUTE_REPLAY_MODEL           the provider's `model.pt`, for "final"
    CROWDCOMPUTE_REPLAY_SHARDS          "2,5": shard indices to recompute (shards jobs)
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sdk.errors import ConfigError, ReplayError

__all__ = [
    "ENV_INPUT_DIR",
    "ENV_OUTPUT_DIR",
    "ENV_REPLAY_CHECKPOINT",
    "ENV_REPLAY_CHECKPOINT_DIR",
    "ENV_REPLAY_MODEL",
    "ENV_REPLAY_SEGMENT",
    "ENV_REPLAY_SEGMENTS",
    "ENV_REPLAY_SHARDS",
    "ENV_TMP_DIR",
    "JobEnv",
    "ReplayRequest",
    "Schedule",
    "Segment",
    "cpu_limit",
    "job_schedule",
    "thread_count",
]

ENV_INPUT_DIR = "CROWDCOMPUTE_INPUT_DIR"
ENV_OUTPUT_DIR = "CROWDCOMPUTE_OUTPUT_DIR"
ENV_TMP_DIR = "CROWDCOMPUTE_TMP_DIR"
ENV_REPLAY_SEGMENTS = "CROWDCOMPUTE_REPLAY_SEGMENTS"
ENV_REPLAY_SEGMENT = "CROWDCOMPUTE_REPLAY_SEGMENT"
ENV_REPLAY_CHECKPOINT_DIR = "CROWDCOMPUTE_REPLAY_CHECKPOINT_DIR"
ENV_REPLAY_CHECKPOINT = "CROWDCOMPUTE_REPLAY_CHECKPOINT"
ENV_REPLAY_MODEL = "CROWDCOMPUTE_REPLAY_MODEL"
ENV_REPLAY_SHARDS = "CROWDCOMPUTE_REPLAY_SHARDS"

_MAX_REPLAYS = 4096

# A segment to recompute: an index i (steps i*K..(i+1)*K from checkpoint i), "init" (d_0 from a fresh
# initialisation) or "final" (the last checkpoint's digest and whether model.pt matches it).
Segment = int | Literal["init", "final"]


@dataclass(frozen=True)
class ReplayRequest:
    """What a validator asked for. `single` means the one-segment variables were used."""

    segments: tuple[Segment, ...] = ()
    shards: tuple[int, ...] = ()
    checkpoint_dir: Path | None = None
    checkpoint: Path | None = None
    model: Path | None = None
    single: bool = False


@dataclass(frozen=True)
class JobEnv:
    """The sandbox as this job sees it."""

    input_dir: Path
    output_dir: Path
    tmp_dir: Path
    threads: int
    replay: ReplayRequest | None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> JobEnv:
        env = os.environ if environ is None else environ
        return cls(
            input_dir=Path(env.get(ENV_INPUT_DIR) or "/input"),
            output_dir=Path(env.get(ENV_OUTPUT_DIR) or "/output"),
            tmp_dir=Path(env.get(ENV_TMP_DIR) or "/tmp"),
            threads=thread_count(env),
            replay=_replay_request(env),
        )


def _positive(text: str | None) -> int | None:
    try:
        value = int(text) if text else 0
    except ValueError:
        return None
    return value if value > 0 else None


def cpu_limit() -> float | None:
    """The cgroup CPU quota in cores (v2 `cpu.max`, else v1 cfs quota/period); None when unlimited."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        period_us = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


def thread_count(environ: Mapping[str, str] | None = None) -> int:
    """Threads for torch: the executor's setting, else the CPU limit rounded down, at least 1."""
    env = os.environ if environ is None else environ
    for name in ("TORCH_NUM_THREADS", "OMP_NUM_THREADS"):
        if (value := _positive(env.get(name))) is not None:
            return value
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    limit = cpu_limit()
    if limit is not None:
        available = min(available, max(1, math.floor(limit)))
    return max(1, available)


def _segment(text: str) -> Segment:
    word = text.strip().lower()
    if word == "init":
        return "init"
    if word == "final":
        return "final"
    if word.isdigit():
        return int(word)
    raise ReplayError(f"segment {text!r} is not an index, 'init' or 'final'")


def _indices(name: str, text: str) -> tuple[str, ...]:
    parts = tuple(part for part in text.split(",") if part.strip())
    if not parts:
        raise ReplayError(f"{name} is set but names nothing")
    if len(parts) > _MAX_REPLAYS:
        raise ReplayError(f"{name} names {len(parts)} items; at most {_MAX_REPLAYS}")
    return parts


def _path(env: Mapping[str, str], name: str) -> Path | None:
    value = env.get(name)
    return Path(value) if value else None


def _replay_request(env: Mapping[str, str]) -> ReplayRequest | None:
    many, one, shards = env.get(ENV_REPLAY_SEGMENTS), env.get(ENV_REPLAY_SEGMENT), env.get(ENV_REPLAY_SHARDS)
    if sum(value is not None for value in (many, one, shards)) > 1:
        raise ReplayError(
            f"set only one of {ENV_REPLAY_SEGMENTS}, {ENV_REPLAY_SEGMENT} and {ENV_REPLAY_SHARDS}"
        )
    checkpoint_dir = _path(env, ENV_REPLAY_CHECKPOINT_DIR)
    checkpoint, model = _path(env, ENV_REPLAY_CHECKPOINT), _path(env, ENV_REPLAY_MODEL)
    if shards is not None:
        indices = _indices(ENV_REPLAY_SHARDS, shards)
        if not all(part.strip().isdigit() for part in indices):
            raise ReplayError(f"{ENV_REPLAY_SHARDS}={shards!r} must list shard indices, e.g. '2,5'")
        return ReplayRequest(shards=tuple(int(part) for part in indices), checkpoint_dir=checkpoint_dir)
    if many is None and one is None:
        return None
    if many is not None:
        segments = tuple(_segment(part) for part in _indices(ENV_REPLAY_SEGMENTS, many))
    else:
        segments = (_segment(one or ""),)
    return ReplayRequest(segments, (), checkpoint_dir, checkpoint, model, single=many is None)


@dataclass(frozen=True)
class Schedule:
    """A segments job's schedule as its manifest states it: K steps per segment, n segments."""

    checkpoint_interval: int
    segments: int

    @property
    def total_steps(self) -> int:
        return self.checkpoint_interval * self.segments


def job_schedule(job_dir: str | os.PathLike[str]) -> Schedule:
    """`[verification] checkpoint_interval` and `segments` from `<job_dir>/job.toml`.

    Reading them from the manifest keeps one source of truth: validators sample from the same numbers.
    """
    path = Path(job_dir) / "job.toml"
    try:
        verification = tomllib.loads(path.read_text())["verification"]
        interval, segments = verification["checkpoint_interval"], verification["segments"]
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} gives no verification.checkpoint_interval and segments: {exc}") from None
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (interval, segments)):
        raise ConfigError(f"{path}: checkpoint_interval and segments must be positive integers")
    return Schedule(interval, segments)
