"""Errors of the executors; all derive from `jobs.errors.JobsError` through `ExecutorError`.

An error here means the executor refused or could not do what was asked. A job that ran and failed is
not an error: it is an `ExecutionResult` whose state says how it ended.
"""

from __future__ import annotations

from jobs.errors import JobsError


class ExecutorError(JobsError):
    """Base class of every executor error."""


class InvalidExecutionRequest(ExecutorError, ValueError):
    """A request that cannot be run as given (a relative path, a zero memory limit, a bad id)."""


class ImageUnavailable(ExecutorError, LookupError):
    """The runtime image is not present on this host; nodes never pull, so the job cannot start."""


class ImageDigestMismatch(ExecutorError, ValueError):
    """An image of that name is present, but its id and repo digests differ from the pinned digest."""

    def __init__(self, image: str, expected: str, found: tuple[str, ...]) -> None:
        super().__init__(
            f"image {image!r} is pinned to {expected} but the local image has "
            f"{', '.join(found) or 'no digest'}; refusing to run it"
        )
        self.image = image
        self.expected = expected
        self.found = found


class GpuUnavailable(ExecutorError, RuntimeError):
    """The job asks for GPUs this host's engine cannot give (no NVIDIA runtime)."""


class ExecutionStartFailed(ExecutorError, RuntimeError):
    """The engine refused to create or start the container; nothing is left running."""


class ExecutionExists(ExecutorError, ValueError):
    """An execution with this id is already tracked or still has a container."""


class UnknownExecution(ExecutorError, LookupError):
    """No execution with this id is tracked by this executor (or present on the engine)."""


class WaitTimeout(ExecutorError, TimeoutError):
    """`wait(..., timeout=)` returned before the execution finished; the execution keeps running."""


class LocalExecutorDisabled(ExecutorError, PermissionError):
    """The local executor runs jobs unsandboxed and must be enabled explicitly."""


class EngineUnavailable(ExecutorError, ConnectionError):
    """The container engine cannot be reached."""
