"""An executor that runs nothing: every execution ends at once with a configurable result.

For tests and benchmarks of the code around executors (claim loops, submission, accounting).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime

from jobs.executors.base import (
    ExecutionId,
    ExecutionRequest,
    ExecutionResult,
    ExecutionState,
    LogCallback,
    RunningExecution,
)
from jobs.executors.errors import ExecutionExists, UnknownExecution

__all__ = ["DEV_NOOP_OUTPUT", "NoopExecutor", "dev_noop_executor"]

ResultFactory = Callable[[ExecutionRequest], ExecutionResult]


class NoopExecutor:
    """Completes every execution instantly with `state` / `exit_code` / `reason`, or `result_for(request)`.

    `log_lines` are handed to `on_log` and `logs()`; `write_output` files (name -> bytes) are written to
    the request's output folder, so callers that read outputs have something to read. `requests` keeps
    every request started, in order.
    """

    def __init__(
        self,
        *,
        state: ExecutionState = ExecutionState.SUCCEEDED,
        exit_code: int | None = None,
        reason: str | None = None,
        log_lines: Sequence[str] = (),
        cpu_seconds: float | None = 0.0,
        write_output: dict[str, bytes] | None = None,
        result_for: ResultFactory | None = None,
    ) -> None:
        self._state = state
        self._exit_code = (
            exit_code if exit_code is not None else (0 if state is ExecutionState.SUCCEEDED else 1)
        )
        self._reason = reason or f"no-op execution ({state.value})"
        self._log_lines = tuple(log_lines)
        self._cpu_seconds = cpu_seconds
        self._write_output = dict(write_output or {})
        self._result_for = result_for
        self._results: dict[str, ExecutionResult] = {}
        self._lock = threading.Lock()
        self.requests: list[ExecutionRequest] = []

    def start(self, request: ExecutionRequest, *, on_log: LogCallback | None = None) -> None:
        with self._lock:
            if request.execution_id in self._results:
                raise ExecutionExists(f"execution {request.execution_id} was already started")
            self.requests.append(request)
        written = 0
        if self._write_output:
            request.output_dir.mkdir(parents=True, exist_ok=True)
            for name, data in self._write_output.items():
                (request.output_dir / name).write_bytes(data)
                written += len(data)
        for line in self._log_lines:
            if on_log is not None:
                on_log(line)
        now = datetime.now(UTC)
        result = (
            self._result_for(request)
            if self._result_for is not None
            else ExecutionResult(
                execution_id=request.execution_id,
                state=self._state,
                exit_code=self._exit_code,
                reason=self._reason,
                started_at=now,
                finished_at=now,
                cpu_seconds=self._cpu_seconds,
                peak_memory_bytes=None,
                output_bytes=written,
            )
        )
        with self._lock:
            self._results[request.execution_id] = result

    def wait(self, execution_id: ExecutionId, timeout: float | None = None) -> ExecutionResult:
        with self._lock:
            result = self._results.get(execution_id)
        if result is None:
            raise UnknownExecution(f"execution {execution_id} was never started")
        return result

    def cancel(self, execution_id: ExecutionId) -> None:
        self.wait(execution_id)  # already ended: nothing to stop

    def logs(self, execution_id: ExecutionId, *, follow: bool = True) -> Iterator[str]:
        self.wait(execution_id)
        return iter(self._log_lines)

    def find_running(self) -> list[RunningExecution]:
        return []

    def reattach(self, execution_id: ExecutionId, *, on_log: LogCallback | None = None) -> None:
        raise UnknownExecution(f"the no-op executor holds no execution {execution_id} to re-attach to")

    def close(self) -> None:
        return None


DEV_NOOP_OUTPUT: dict[str, bytes] = {"result.txt": b"no-op execution: the same bytes on every node\n"}
"""What `--executor noop` (a development option of `provider run` and `validator run`) writes as every job's
output: the same bytes on every node, so a validator's no-op re-run matches a provider's no-op result and a
`replicate` verdict accepts it (bench/load.py runs a market of such nodes without Docker)."""


def dev_noop_executor() -> NoopExecutor:
    """The executor behind the nodes' hidden `--executor noop` (development and benches only)."""
    return NoopExecutor(write_output=DEV_NOOP_OUTPUT, reason="no-op execution (development)")
