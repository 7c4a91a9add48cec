"""The executor interface every backend implements, and the flat request and result it speaks.

The core (provider and validator nodes) builds an `ExecutionRequest` from a job's manifest and hands it to
an `Executor`; it never sees Docker fields. Executions are keyed by an `ExecutionId` the caller chooses, so a
node that restarts can find its work again (`find_running`, `reattach`).

Inside the sandbox a job finds its folders at fixed places, also given in environment variables so the
same job code runs under every executor:

    CROWDCOMPUTE_INPUT_DIR   the unpacked bundle, read-only      (/input in a container)
    CROWDCOMPUTE_OUTPUT_DIR  where results go, size-capped       (/output)
    CROWDCOMPUTE_TMP_DIR     scratch space, size-capped, lost    (/tmp)
"""

from __future__ import annotations

import enum
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any, NewType, Protocol, runtime_checkable

from jobs.executors.errors import InvalidExecutionRequest

__all__ = [
    "ENV_EXECUTION_ID",
    "ENV_INPUT_DIR",
    "ENV_JOB_ID",
    "ENV_OUTPUT_DIR",
    "ENV_TMP_DIR",
    "GIB",
    "MIB",
    "ExecutionId",
    "ExecutionRequest",
    "ExecutionResult",
    "ExecutionState",
    "Executor",
    "ImageRef",
    "LogCallback",
    "Prioritizing",
    "RunningExecution",
    "numeric_env",
    "run_to_completion",
]

ExecutionId = NewType("ExecutionId", str)
LogCallback = Callable[[str], None]

MIB = 1024 * 1024
GIB = 1024 * MIB

ENV_INPUT_DIR = "CROWDCOMPUTE_INPUT_DIR"
ENV_OUTPUT_DIR = "CROWDCOMPUTE_OUTPUT_DIR"
ENV_TMP_DIR = "CROWDCOMPUTE_TMP_DIR"
ENV_EXECUTION_ID = "CROWDCOMPUTE_EXECUTION_ID"
ENV_JOB_ID = "CROWDCOMPUTE_JOB_ID"

# Used in container names and labels: keep it to characters every engine accepts.
_EXECUTION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED_LABEL_PREFIX = "crowdcompute."


class ExecutionState(enum.StrEnum):
    """How an execution ended. Everything but `succeeded` is a failure of the job, not of the executor."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"  # exited non-zero (or could not do what it tried: the sandbox said no)
    TIMED_OUT = "timed_out"  # killed at the wall-clock limit
    OOM_KILLED = "oom_killed"  # killed by the kernel at the memory limit
    OUTPUT_TOO_LARGE = "output_too_large"  # wrote more output than allowed
    CANCELLED = "cancelled"  # the node asked it to stop
    LOST = "lost"  # the sandbox vanished or the engine stopped answering; the outcome is unknown


@dataclass(frozen=True, slots=True)
class ImageRef:
    """A runtime image by name, pinned to a digest: the image id or one of its repo (manifest) digests."""

    name: str
    digest: str

    def __post_init__(self) -> None:
        if not self.name:
            raise InvalidExecutionRequest("image name is empty")
        if not _DIGEST.fullmatch(self.digest):
            raise InvalidExecutionRequest(f"image digest {self.digest!r} is not 'sha256:' + 64 hex digits")

    def __str__(self) -> str:
        return f"{self.name}@{self.digest}"


@dataclass(frozen=True, slots=True)
class ExecutionRequest:
    """Everything an executor needs to run one execution of a job; limits are hard limits.

    `argv` is run as is (the image's entrypoint is replaced). `input_dir` is mounted read-only,
    `output_dir` writable; both are host paths. Sizes are bytes unless the name says otherwise.
    """

    execution_id: ExecutionId
    job_id: str
    image: ImageRef
    argv: tuple[str, ...]
    output_dir: Path
    input_dir: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    output_limit_bytes: int = 1 * GIB
    output_max_files: int = 100_000
    tmp_limit_bytes: int = 256 * MIB
    cpus: float = 1.0
    memory_mib: int = 1024
    pids: int = 256
    gpus: int = 0
    gpu_devices: tuple[str, ...] = ()  # which GPUs (index or UUID); empty: any `gpus` of them
    timeout_s: float = 3600.0
    labels: Mapping[str, str] = field(default_factory=dict)
    # Starts at the lowest CPU weight: it gets only CPU that no other execution wants, until the
    # executor is asked to `prioritize` it (a validator's warm replay waiting beside a provider's job).
    idle_priority: bool = False

    def __post_init__(self) -> None:
        # Freeze the mutable inputs so a request cannot change under a running execution.
        object.__setattr__(self, "argv", tuple(self.argv))
        object.__setattr__(self, "gpu_devices", tuple(self.gpu_devices))
        object.__setattr__(self, "env", MappingProxyType(dict(self.env)))
        object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))
        object.__setattr__(self, "output_dir", Path(self.output_dir))
        if self.input_dir is not None:
            object.__setattr__(self, "input_dir", Path(self.input_dir))
        self._validate()

    def _validate(self) -> None:
        def bad(message: str) -> InvalidExecutionRequest:
            return InvalidExecutionRequest(f"execution {self.execution_id!r}: {message}")

        if not _EXECUTION_ID.fullmatch(self.execution_id):
            raise InvalidExecutionRequest(
                f"execution id {self.execution_id!r} must be 1-128 characters of [A-Za-z0-9_.-], "
                "starting with a letter or digit"
            )
        if not self.job_id or len(self.job_id) > 128 or not self.job_id.isprintable():
            raise bad(f"job id {self.job_id!r} must be 1-128 printable characters")
        if not self.argv or not self.argv[0]:
            raise bad("argv is empty")
        if any("\0" in arg for arg in self.argv):
            raise bad("argv contains a NUL character")
        for name, value in self.env.items():
            if not _ENV_NAME.fullmatch(name) or "\0" in value:
                raise bad(f"environment variable {name!r} has a bad name or value")
        for key in self.labels:
            if key.startswith(RESERVED_LABEL_PREFIX):
                raise bad(f"label {key!r} uses the reserved prefix {RESERVED_LABEL_PREFIX!r}")
        if not self.output_dir.is_absolute():
            raise bad(f"output_dir {self.output_dir} must be an absolute path")
        if self.input_dir is not None:
            if not self.input_dir.is_absolute():
                raise bad(f"input_dir {self.input_dir} must be an absolute path")
            inp, out = (
                PurePosixPath(os.path.normpath(self.input_dir)),
                PurePosixPath(os.path.normpath(self.output_dir)),
            )
            if inp == out or inp.is_relative_to(out) or out.is_relative_to(inp):
                raise bad("input_dir and output_dir must not overlap (the input would become writable)")
        if not (math.isfinite(self.cpus) and self.cpus > 0):
            raise bad(f"cpus must be > 0, got {self.cpus}")
        if self.memory_mib < 8:
            raise bad(f"memory_mib must be >= 8, got {self.memory_mib}")
        if self.pids < 4:
            raise bad(f"pids must be >= 4, got {self.pids}")
        if self.gpus < 0:
            raise bad(f"gpus must be >= 0, got {self.gpus}")
        if self.gpu_devices and len(self.gpu_devices) != self.gpus:
            raise bad(f"gpu_devices names {len(self.gpu_devices)} GPUs but gpus is {self.gpus}")
        if self.output_limit_bytes < 0 or self.output_max_files < 1:
            raise bad("output_limit_bytes must be >= 0 and output_max_files >= 1")
        if self.tmp_limit_bytes < MIB:
            raise bad(f"tmp_limit_bytes must be >= 1 MiB, got {self.tmp_limit_bytes}")
        if not (math.isfinite(self.timeout_s) and self.timeout_s > 0):
            raise bad(f"timeout_s must be > 0, got {self.timeout_s}")


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """How an execution ended. `cpu_seconds` and `peak_memory_bytes` are None where unmeasured."""

    execution_id: ExecutionId
    state: ExecutionState
    exit_code: int | None
    reason: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    cpu_seconds: float | None = None
    peak_memory_bytes: int | None = None
    output_bytes: int | None = None

    @property
    def ok(self) -> bool:
        return self.state is ExecutionState.SUCCEEDED

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return max(0.0, (self.finished_at - self.started_at).total_seconds())

    def to_dict(self) -> dict[str, Any]:
        return {
            "execution_id": self.execution_id,
            "state": self.state.value,
            "exit_code": self.exit_code,
            "reason": self.reason,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "duration_s": self.duration_s,
            "cpu_seconds": self.cpu_seconds,
            "peak_memory_bytes": self.peak_memory_bytes,
            "output_bytes": self.output_bytes,
        }


@dataclass(frozen=True, slots=True)
class RunningExecution:
    """An execution the engine still holds: running, or finished while no executor watched it."""

    execution_id: ExecutionId
    job_id: str
    status: str  # the engine's word: "running", "exited", ...
    started_at: datetime | None


@runtime_checkable
class Executor(Protocol):
    """Runs executions in a sandbox, keyed by execution id. Implementations: docker, local, noop."""

    def start(self, request: ExecutionRequest, *, on_log: LogCallback | None = None) -> None:
        """Start the execution and return at once; `on_log` gets each output line while it runs.

        Raises an `ExecutorError` when the execution cannot start (image missing or mismatched, no GPU
        runtime, id in use); a job that starts and then fails is reported by `wait`, not raised.
        """
        ...

    def wait(self, execution_id: ExecutionId, timeout: float | None = None) -> ExecutionResult:
        """Block until the execution ends and return its result (`WaitTimeout` if `timeout` passes first)."""
        ...

    def cancel(self, execution_id: ExecutionId) -> None:
        """Stop the execution; it ends `cancelled`. Does nothing when it already ended."""
        ...

    def logs(self, execution_id: ExecutionId, *, follow: bool = True) -> Iterator[str]:
        """Output lines (stdout and stderr merged) from the start; with `follow`, until the execution ends."""
        ...

    def find_running(self) -> list[RunningExecution]:
        """Executions the sandbox still holds, including those of a previous run of this node."""
        ...

    def reattach(self, execution_id: ExecutionId, *, on_log: LogCallback | None = None) -> None:
        """Watch an execution found by `find_running` again, so `wait`, `logs` and `cancel` work on it."""
        ...

    def close(self) -> None:
        """Stop watching; running executions keep running (a restarted node re-attaches)."""
        ...


@runtime_checkable
class Prioritizing(Protocol):
    """An executor that can lift an `idle_priority` execution to the normal CPU weight while it runs.

    Optional: an executor without it runs such executions at the normal weight throughout (local, noop).
    """

    def prioritize(self, execution_id: ExecutionId) -> None:
        """Give the running execution the normal CPU weight from now on (`ExecutorError` when it cannot)."""
        ...


def numeric_env(cpus: float) -> dict[str, str]:
    """What numeric libraries need to run a job repeatably: thread counts and MKL's reproducible path.

    Thread counts are the CPU limit rounded down, at least 1: libraries size their pools by
    `os.cpu_count()`, which ignores the CPU quota. `MKL_CBWR=COMPATIBLE` makes MKL take one code path
    whatever the memory alignment of its inputs: without it, a replay from a checkpoint gave other bits
    than the original run in about one run in four (the LSTM example, one thread, same machine).
    """
    threads = str(max(1, math.floor(cpus)))
    return {
        "MKL_CBWR": "COMPATIBLE",
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "NUMEXPR_NUM_THREADS": threads,
        "TORCH_NUM_THREADS": threads,
    }


def run_to_completion(
    executor: Executor, request: ExecutionRequest, *, on_log: LogCallback | None = None
) -> ExecutionResult:
    """Start `request` and wait for its result."""
    executor.start(request, on_log=on_log)
    return executor.wait(request.execution_id)
