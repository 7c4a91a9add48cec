"""Watching an execution's container from outside while its job runs.

What the engine cannot enforce here, the watcher does: the wall-clock timeout (kill, state `timed_out`)
and the output size (the folder is watched while the job runs and measured again at the end); it also
samples resource usage, streams the live log, and records the result when the container ends or is lost.
Overlay2's `storage_opt` size quota only works on xfs with project quotas; on ext4 the engine refuses the
container, so it is not used.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker.errors

from jobs.executors._common import DirUsage, OutputLimits, describe_exit, measure_output, output_breach
from jobs.executors._logs import LogBuffer
from jobs.executors._usage import UsageSampler
from jobs.executors.base import ExecutionId, ExecutionResult, ExecutionState
from jobs.executors.docker_engine import parse_time

# The executor's logger: what the watcher reports stays under the name operators already filter on.
logger = logging.getLogger("jobs.executors.docker")


@dataclass(slots=True)
class EnforcedLimits:
    """What the watcher enforces: from the request, or from a container's labels after a restart."""

    execution_id: ExecutionId
    job_id: str
    output_dir: Path
    output: OutputLimits
    timeout_s: float
    memory_mib: int | None


@dataclass(slots=True)
class WatchedExecution:
    """One execution as the executor tracks it: its container, live log, usage, and result once done."""

    limits: EnforcedLimits
    container: Any
    deadline: float  # time.monotonic() at which the wall-clock limit is reached
    logs: LogBuffer
    usage: UsageSampler
    done: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    result: ExecutionResult | None = None
    kill_state: ExecutionState | None = None
    kill_reason: str = ""
    log_stream: Any = None
    log_thread: threading.Thread | None = None
    monitor: threading.Thread | None = None
    unreachable_since: float | None = None
    watched_since: float = field(default_factory=time.monotonic)


# A container's cgroup vanishes with it: the first second is sampled often, so a short job (a replay of a
# small job) still leaves a CPU figure behind.
_EARLY_S = 1.0
_EARLY_POLL_S = 0.05


class ContainerWatcher:
    """The bodies of each execution's two threads (`pump_logs`, `watch`), and `kill`.

    `closing` is the executor's: once set, watching stops and the containers keep running for a later
    executor to re-attach to. `keep_containers` leaves finished containers for inspection.
    """

    def __init__(
        self,
        *,
        closing: threading.Event,
        poll_interval_s: float,
        engine_grace_s: float,
        keep_containers: bool,
    ) -> None:
        self._closing = closing
        self._poll = poll_interval_s
        self._engine_grace = engine_grace_s
        self._keep = keep_containers

    def pump_logs(self, execution: WatchedExecution) -> None:
        try:
            stream = execution.container.logs(stream=True, follow=True, stdout=True, stderr=True)
            execution.log_stream = stream
            for chunk in stream:
                execution.logs.feed(chunk)
        except (docker.errors.APIError, OSError, ValueError) as error:
            # ValueError/OSError: the stream was closed under us by close().
            logger.debug("log stream of %s ended: %s", execution.limits.execution_id, error)
        finally:
            execution.logs.close()

    def watch(self, execution: WatchedExecution) -> None:
        """Enforce the limits until the container ends, then record the result and remove it."""
        limits = execution.limits
        try:
            while not self._closing.is_set():
                now = time.monotonic()
                if execution.kill_state is None and now >= execution.deadline:
                    self.kill(
                        execution,
                        ExecutionState.TIMED_OUT,
                        f"ran past its wall-clock limit of {limits.timeout_s:g} s and was killed",
                    )
                poll = _EARLY_POLL_S if now - execution.watched_since < _EARLY_S else self._poll
                execution.usage.sample()
                status = self._wait_for_exit(execution, min(poll, max(execution.deadline - now, 0.05)))
                if status == "ended":
                    self._finish(execution)
                    return
                if status == "gone":
                    self._finish_lost(execution, "its container disappeared (removed outside this executor)")
                    return
                if status == "never-started":
                    remove_container(execution.container)
                    self._finish_lost(execution, "its container was created but never started")
                    return
                if status == "unreachable":
                    since = execution.unreachable_since or now
                    execution.unreachable_since = since
                    if now - since > self._engine_grace:
                        self._finish_lost(
                            execution, f"the Docker engine stopped answering for {now - since:.0f} s"
                        )
                        return
                    time.sleep(self._poll)
                    continue
                execution.unreachable_since = None
                execution.usage.sample()
                if execution.kill_state is None:
                    usage = measure_output(limits.output_dir, limits.output)
                    if usage.over(limits.output):
                        self.kill(
                            execution,
                            ExecutionState.OUTPUT_TOO_LARGE,
                            output_breach(limits.output, usage) + "; killed while running",
                        )
        except Exception as error:  # the monitor must always leave a result behind
            logger.exception("watching execution %s failed", limits.execution_id)
            self._finish_lost(execution, f"the executor failed while watching it: {error!r}")

    def _wait_for_exit(self, execution: WatchedExecution, seconds: float) -> str:
        container = execution.container
        try:
            container.wait(timeout=seconds)  # returns at once for a container never started, too
        except docker.errors.NotFound:
            return "gone"
        except (docker.errors.APIError, OSError):
            # A wait that times out raises requests' ConnectionError (an OSError), just like an engine
            # that went away: the reload below tells which.
            pass
        try:
            container.reload()
        except docker.errors.NotFound:
            return "gone"
        except (docker.errors.APIError, OSError):
            return "unreachable"
        if container.status in ("exited", "dead"):
            return "ended"
        if container.status == "created":
            return "never-started"
        return "running"

    def kill(self, execution: WatchedExecution, state: ExecutionState, reason: str) -> bool:
        """Kill the container, recording why; False when the engine could not be told (retry later)."""
        with execution.lock:
            if execution.kill_state is not None or execution.done.is_set():
                return True
            execution.kill_state, execution.kill_reason = state, reason
        try:
            execution.container.kill()
            logger.warning("execution %s: %s", execution.limits.execution_id, reason)
            return True
        except docker.errors.NotFound:
            return True
        except docker.errors.APIError as error:
            if error.status_code == 409:  # not running: it ended on its own first
                self._forget_kill(execution)
                return True
            logger.error("could not kill execution %s: %s", execution.limits.execution_id, error)
        except OSError as error:
            logger.error("could not reach the engine to kill %s: %s", execution.limits.execution_id, error)
        self._forget_kill(execution)  # still running: the next poll tries again
        return False

    @staticmethod
    def _forget_kill(execution: WatchedExecution) -> None:
        with execution.lock:
            execution.kill_state, execution.kill_reason = None, ""

    def _finish(self, execution: WatchedExecution) -> None:
        limits = execution.limits
        if execution.log_thread is not None:
            execution.log_thread.join(timeout=10)
        container = execution.container
        try:
            container.reload()
            state_info = container.attrs.get("State", {})
        except (docker.errors.APIError, OSError):
            state_info = {}
        exit_code = state_info.get("ExitCode")
        usage = measure_output(limits.output_dir, limits.output)
        state, reason = self._verdict(execution, state_info, usage)
        if not self._keep:
            remove_container(container)  # before publishing: when `wait` returns, nothing is left behind
        self._publish(
            execution,
            ExecutionResult(
                execution_id=limits.execution_id,
                state=state,
                exit_code=exit_code if isinstance(exit_code, int) else None,
                reason=reason,
                started_at=parse_time(state_info.get("StartedAt")),
                finished_at=parse_time(state_info.get("FinishedAt")),
                cpu_seconds=_seconds(execution.usage.cpu_ns),
                peak_memory_bytes=execution.usage.peak_memory,
                output_bytes=usage.bytes,
            ),
        )

    def _verdict(
        self, execution: WatchedExecution, state_info: dict[str, Any], usage: DirUsage
    ) -> tuple[ExecutionState, str]:
        limits = execution.limits
        exit_code = state_info.get("ExitCode")
        if execution.kill_state is not None:
            return execution.kill_state, execution.kill_reason
        if state_info.get("OOMKilled"):
            limit = f"{limits.memory_mib} MiB " if limits.memory_mib else ""
            return ExecutionState.OOM_KILLED, f"killed by the out-of-memory killer at its {limit}memory limit"
        if usage.over(limits.output):
            return ExecutionState.OUTPUT_TOO_LARGE, output_breach(limits.output, usage)
        if not isinstance(exit_code, int):
            return ExecutionState.LOST, "the engine did not report an exit code"
        if usage.unreadable:
            return ExecutionState.FAILED, f"its output holds {usage.unreadable} entries the node cannot read"
        if exit_code == 0:
            return ExecutionState.SUCCEEDED, "exited with code 0"
        last = _last_error_line(execution.container) or execution.logs.last_line()
        return ExecutionState.FAILED, describe_exit(exit_code, last)

    def _finish_lost(self, execution: WatchedExecution, reason: str) -> None:
        execution.logs.close()
        self._publish(
            execution,
            ExecutionResult(
                execution_id=execution.limits.execution_id,
                state=ExecutionState.LOST,
                exit_code=None,
                reason=reason,
                cpu_seconds=_seconds(execution.usage.cpu_ns),
                peak_memory_bytes=execution.usage.peak_memory,
            ),
        )

    def _publish(self, execution: WatchedExecution, result: ExecutionResult) -> None:
        execution.usage.stop()
        with execution.lock:
            if execution.done.is_set():
                return
            execution.result = result
            execution.done.set()
        logger.info("execution %s ended %s: %s", result.execution_id, result.state, result.reason)


def remove_container(container: Any) -> None:
    """Remove a container and its anonymous volumes; an engine that fails is logged, not raised."""
    try:
        container.remove(force=True, v=True)
    except docker.errors.NotFound:
        pass
    except (docker.errors.APIError, OSError) as error:
        logger.error("could not remove container %s: %s", getattr(container, "short_id", "?"), error)


def _last_error_line(container: Any) -> str:
    """The container's last line on stderr: the exception a failed job died of.

    Asked of the engine separately because its stdout and stderr copiers write the merged log in
    whatever order they run, so the merged stream's last line may be an earlier print.
    """
    try:
        tail = container.logs(stdout=False, stderr=True, tail=5)
    except (docker.errors.APIError, OSError):
        return ""
    lines = [line.strip() for line in bytes(tail).decode("utf-8", errors="replace").splitlines()]
    return next((line for line in reversed(lines) if line), "")


def _seconds(nanoseconds: int | None) -> float | None:
    return nanoseconds / 1e9 if nanoseconds is not None else None
