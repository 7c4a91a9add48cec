"""Executors run one execution of a job in a sandbox: `docker` (production), `local` (development only,
not a sandbox) and `noop` (tests). They share the interface and the request/result types of `base`.

The Docker executor is imported from `jobs.executors.docker` so that importing this package does not
need the Docker SDK.
"""

from jobs.executors.base import (
    ExecutionId,
    ExecutionRequest,
    ExecutionResult,
    ExecutionState,
    Executor,
    ImageRef,
    Prioritizing,
    RunningExecution,
    run_to_completion,
)
from jobs.executors.errors import (
    EngineUnavailable,
    ExecutionExists,
    ExecutionStartFailed,
    ExecutorError,
    GpuUnavailable,
    ImageDigestMismatch,
    ImageUnavailable,
    InvalidExecutionRequest,
    LocalExecutorDisabled,
    UnknownExecution,
    WaitTimeout,
)
from jobs.executors.manifest_request import request_for_manifest

__all__ = [
    "EngineUnavailable",
    "ExecutionExists",
    "ExecutionId",
    "ExecutionRequest",
    "ExecutionResult",
    "ExecutionStartFailed",
    "ExecutionState",
    "Executor",
    "ExecutorError",
    "GpuUnavailable",
    "ImageDigestMismatch",
    "ImageRef",
    "ImageUnavailable",
    "InvalidExecutionRequest",
    "LocalExecutorDisabled",
    "Prioritizing",
    "RunningExecution",
    "UnknownExecution",
    "WaitTimeout",
    "request_for_manifest",
    "run_to_completion",
]
