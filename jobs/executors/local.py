"""A development executor that runs jobs as plain processes on this machine. It is NOT a sandbox.

A job run here can read and write anything its user can, use the network, and outlive its limits: only the
wall-clock timeout and the output cap are enforced, memory and CPU are not. It refuses to exist unless
enabled explicitly (`LocalExecutor(enabled=True)` or `CROWDCOMPUTE_ALLOW_LOCAL_EXECUTOR=1`) and logs a
warning for every execution. The image is ignored; `python`/`python3` in argv means this interpreter.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from jobs.executors._common import OutputLimits, describe_exit, measure_output, output_breach
from jobs.executors._logs import LogBuffer
from jobs.executors.base import (
    ENV_EXECUTION_ID,
    ENV_INPUT_DIR,
    ENV_JOB_ID,
    ENV_OUTPUT_DIR,
    ENV_TMP_DIR,
    ExecutionId,
    ExecutionRequest,
    ExecutionResult,
    ExecutionState,
    LogCallback,
    RunningExecution,
    numeric_env,
)
from jobs.executors.errors import (
    ExecutionExists,
    ExecutionStartFailed,
    LocalExecutorDisabled,
    UnknownExecution,
    WaitTimeout,
)

__all__ = ["ALLOW_ENV", "LocalExecutor"]

logger = logging.getLogger(__name__)

ALLOW_ENV = "CROWDCOMPUTE_ALLOW_LOCAL_EXECUTOR"
_WARNING = (
    "LOCAL EXECUTOR: jobs run as plain processes of this user, with this machine's network, files and "
    "devices. This is NOT a sandbox; use it for development with code you trust, never on a provider."
)


@dataclass(slots=True)
class _Process:
    request: ExecutionRequest
    popen: subprocess.Popen[bytes]
    tmp: Path
    started_at: datetime
    deadline: float
    logs: LogBuffer
    done: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    result: ExecutionResult | None = None
    kill_state: ExecutionState | None = None
    kill_reason: str = ""


class LocalExecutor:
    """Runs executions as local child processes (development only; see the module docstring)."""

    def __init__(self, *, enabled: bool | None = None, poll_interval_s: float = 0.2) -> None:
        allowed = enabled if enabled is not None else os.environ.get(ALLOW_ENV) == "1"
        if not allowed:
            raise LocalExecutorDisabled(
                "the local executor runs jobs without any sandbox; enable it explicitly with "
                f"LocalExecutor(enabled=True) or {ALLOW_ENV}=1 (development only)"
            )
        logger.warning(_WARNING)
        self._poll = poll_interval_s
        self._processes: dict[str, _Process] = {}
        self._lock = threading.Lock()

    def start(self, request: ExecutionRequest, *, on_log: LogCallback | None = None) -> None:
        with self._lock:
            if request.execution_id in self._processes:
                raise ExecutionExists(f"execution {request.execution_id} is already tracked")
        logger.warning("execution %s runs UNSANDBOXED (local executor)", request.execution_id)
        if request.input_dir is not None and not request.input_dir.is_dir():
            raise ExecutionStartFailed(f"input_dir {request.input_dir} is not a folder")
        request.output_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f"crowdcompute-{request.execution_id}-"))
        argv = list(request.argv)
        if argv[0] in ("python", "python3"):
            argv[0] = sys.executable
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            **request.env,
            **numeric_env(request.cpus),
            "HOME": str(tmp),
            "TMPDIR": str(tmp),
            "PYTHONUNBUFFERED": "1",
            ENV_OUTPUT_DIR: str(request.output_dir),
            ENV_TMP_DIR: str(tmp),
            ENV_EXECUTION_ID: request.execution_id,
            ENV_JOB_ID: request.job_id,
        }
        if request.input_dir is not None:
            env[ENV_INPUT_DIR] = str(request.input_dir)
        try:
            popen = subprocess.Popen(
                argv,
                cwd=request.input_dir or tmp,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed as a whole
            )
        except OSError as error:
            shutil.rmtree(tmp, ignore_errors=True)
            raise ExecutionStartFailed(f"could not start {argv[0]!r}: {error}") from error
        process = _Process(
            request=request,
            popen=popen,
            tmp=tmp,
            started_at=datetime.now(UTC),
            deadline=time.monotonic() + request.timeout_s,
            logs=LogBuffer(),
        )
        if on_log is not None:
            process.logs.subscribe(on_log)
        with self._lock:
            self._processes[request.execution_id] = process
        pump = threading.Thread(target=self._pump, args=(process,), daemon=True)
        pump.start()
        threading.Thread(target=self._watch, args=(process, pump), daemon=True).start()

    def wait(self, execution_id: ExecutionId, timeout: float | None = None) -> ExecutionResult:
        process = self._tracked(execution_id)
        if not process.done.wait(timeout):
            raise WaitTimeout(f"execution {execution_id} is still running after {timeout} s")
        assert process.result is not None
        return process.result

    def cancel(self, execution_id: ExecutionId) -> None:
        process = self._tracked(execution_id)
        self._kill(process, ExecutionState.CANCELLED, "cancelled by the node")

    def logs(self, execution_id: ExecutionId, *, follow: bool = True) -> Iterator[str]:
        return self._tracked(execution_id).logs.lines(follow=follow)

    def find_running(self) -> list[RunningExecution]:
        with self._lock:
            processes = list(self._processes.values())
        return [
            RunningExecution(p.request.execution_id, p.request.job_id, "running", p.started_at)
            for p in processes
            if not p.done.is_set()
        ]

    def reattach(self, execution_id: ExecutionId, *, on_log: LogCallback | None = None) -> None:
        with self._lock:
            if execution_id in self._processes:
                return
        raise UnknownExecution(
            f"the local executor cannot re-attach to {execution_id}: "
            "its processes belong to the node that started them"
        )

    def close(self) -> None:
        """Kill what still runs: local processes cannot outlive the node in any useful way."""
        with self._lock:
            processes = list(self._processes.values())
        for process in processes:
            self._kill(process, ExecutionState.CANCELLED, "the executor was closed")

    def _tracked(self, execution_id: ExecutionId) -> _Process:
        with self._lock:
            process = self._processes.get(execution_id)
        if process is None:
            raise UnknownExecution(f"execution {execution_id} is not tracked here")
        return process

    def _pump(self, process: _Process) -> None:
        stream = process.popen.stdout
        assert stream is not None
        try:
            while chunk := os.read(stream.fileno(), 65536):
                process.logs.feed(chunk)
        finally:
            stream.close()
            process.logs.close()

    def _kill(self, process: _Process, state: ExecutionState, reason: str) -> None:
        with process.lock:
            if process.done.is_set() or process.kill_state is not None:
                return
            process.kill_state, process.kill_reason = state, reason
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.popen.pid, signal.SIGKILL)

    def _watch(self, process: _Process, pump: threading.Thread) -> None:
        try:
            self._watch_until_end(process, pump)
        except Exception as error:  # always leave a result behind
            logger.exception("watching execution %s failed", process.request.execution_id)
            with process.lock:
                if not process.done.is_set():
                    process.result = ExecutionResult(
                        execution_id=process.request.execution_id,
                        state=ExecutionState.LOST,
                        exit_code=None,
                        reason=f"the executor failed while watching it: {error!r}",
                        started_at=process.started_at,
                    )
                    process.done.set()

    def _watch_until_end(self, process: _Process, pump: threading.Thread) -> None:
        request = process.request
        limits = OutputLimits.of(request)
        while True:
            # wait4 instead of Popen.wait: it also returns the child's CPU time and peak memory.
            pid, status, usage = os.wait4(process.popen.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() >= process.deadline:
                self._kill(
                    process,
                    ExecutionState.TIMED_OUT,
                    f"ran past its wall-clock limit of {request.timeout_s:g} s and was killed",
                )
            output = measure_output(request.output_dir, limits)
            if output.over(limits):
                self._kill(
                    process,
                    ExecutionState.OUTPUT_TOO_LARGE,
                    output_breach(limits, output) + "; killed while running",
                )
            time.sleep(self._poll)
        exit_code = os.waitstatus_to_exitcode(status)
        process.popen.returncode = exit_code
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.popen.pid, signal.SIGKILL)  # stragglers the job left behind
        pump.join(timeout=10)
        output = measure_output(request.output_dir, limits)
        if process.kill_state is not None:
            state, reason = process.kill_state, process.kill_reason
        elif output.over(limits):
            state, reason = ExecutionState.OUTPUT_TOO_LARGE, output_breach(limits, output)
        elif exit_code == 0:
            state, reason = ExecutionState.SUCCEEDED, "exited with code 0"
        else:
            state, reason = ExecutionState.FAILED, describe_exit(exit_code, process.logs.last_line())
        shutil.rmtree(process.tmp, ignore_errors=True)
        with process.lock:
            process.result = ExecutionResult(
                execution_id=request.execution_id,
                state=state,
                exit_code=exit_code,
                reason=reason,
                started_at=process.started_at,
                finished_at=datetime.now(UTC),
                cpu_seconds=usage.ru_utime + usage.ru_stime,
                peak_memory_bytes=usage.ru_maxrss * 1024,  # KiB on Linux
                output_bytes=output.bytes,
            )
            process.done.set()
