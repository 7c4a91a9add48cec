"""The production executor: each execution is one hardened Docker container.

The container's options and labels are in `docker_options`, the watch that enforces the wall-clock
timeout and the output cap from outside in `docker_watch`, and the questions asked of the engine (local
images checked against their pinned digest, never pulled; runtimes) in `docker_engine`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
import docker.errors

from jobs.executors._common import OutputLimits
from jobs.executors._logs import LogBuffer
from jobs.executors._usage import UsageSampler
from jobs.executors.base import (
    MIB,
    ExecutionId,
    ExecutionRequest,
    ExecutionResult,
    ExecutionState,
    ImageRef,
    LogCallback,
    RunningExecution,
)
from jobs.executors.docker_engine import engine_runtimes, explain, parse_time, resolve_image
from jobs.executors.docker_options import (
    CONTAINER_GID,
    CONTAINER_UID,
    INPUT_PATH,  # noqa: F401  (still importable from here)
    LABEL_EXECUTION,
    LABEL_JOB,
    LABEL_MEMORY_MIB,
    LABEL_NODE,
    LABEL_OUTPUT_FILES,
    LABEL_OUTPUT_LIMIT,
    LABEL_TIMEOUT,
    NORMAL_CPU_SHARES,
    OUTPUT_PATH,
    TMP_PATH,  # noqa: F401
    container_name,
    container_options,
    prepare_dirs,
)
from jobs.executors.docker_watch import (
    ContainerWatcher,
    EnforcedLimits,
    WatchedExecution,
    remove_container,
)
from jobs.executors.errors import (
    EngineUnavailable,
    ExecutionExists,
    ExecutionStartFailed,
    ExecutorError,
    GpuUnavailable,
    UnknownExecution,
    WaitTimeout,
)

__all__ = [
    "CONTAINER_GID",
    "CONTAINER_UID",
    "LABEL_EXECUTION",
    "LABEL_JOB",
    "LABEL_NODE",
    "DockerExecutor",
    "container_name",
    "container_options",
]

logger = logging.getLogger(__name__)


class DockerExecutor:
    """Runs each execution in a hardened container on the local Docker engine (docker SDK 7).

    `node_id` labels this node's containers so several nodes can share one engine. `gpu_runtime` forces
    the NVIDIA-runtime check (None: ask the engine). `keep_containers` leaves finished containers for
    inspection instead of removing them.
    """

    def __init__(
        self,
        client: Any = None,
        *,
        node_id: str | None = None,
        poll_interval_s: float = 0.25,
        gpu_runtime: bool | None = None,
        keep_containers: bool = False,
        engine_grace_s: float = 60.0,
        log_max_bytes: int = 32 * MIB,
        max_log_lines: int = 10_000,
        max_finished: int = 1000,
    ) -> None:
        if client is None:
            try:
                client = docker.from_env(max_pool_size=64)
                client.ping()
            except docker.errors.DockerException as error:
                raise EngineUnavailable(f"no Docker engine answers: {error}") from error
        self._client = client
        self._node_id = node_id
        self._gpu_runtime = gpu_runtime
        self._log_max_bytes = log_max_bytes
        self._max_log_lines = max_log_lines
        self._max_finished = max_finished
        self._executions: dict[str, WatchedExecution] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._watcher = ContainerWatcher(
            closing=self._closing,
            poll_interval_s=poll_interval_s,
            engine_grace_s=engine_grace_s,
            keep_containers=keep_containers,
        )

    # -- the Executor interface ------------------------------------------------------------------

    def start(self, request: ExecutionRequest, *, on_log: LogCallback | None = None) -> None:
        self._check_open()
        with self._lock:
            if request.execution_id in self._executions:
                raise ExecutionExists(f"execution {request.execution_id} is already tracked by this executor")
        image_id = self.resolve_image(request.image)
        if request.gpus and not self.gpu_runtime_available():
            raise GpuUnavailable(
                f"execution {request.execution_id} asks for {request.gpus} GPU(s), but this host's Docker "
                f"engine has no NVIDIA runtime (runtimes: {', '.join(self._runtimes()) or 'none'}); "
                "install the NVIDIA container toolkit or run the job on a GPU provider"
            )
        if self._containers_of(request.execution_id):
            raise ExecutionExists(
                f"a container for execution {request.execution_id} already exists; reattach() to it instead"
            )
        prepare_dirs(request)
        options = container_options(
            request,
            image_id=image_id,
            node_id=self._node_id,
            gpu_runtime=bool(request.gpus),
            log_max_bytes=self._log_max_bytes,
        )
        try:
            container = self._client.containers.create(**options)
        except docker.errors.APIError as error:
            if error.status_code == 409:
                raise ExecutionExists(f"execution {request.execution_id}: {error.explanation}") from error
            raise ExecutionStartFailed(
                f"the engine refused to create execution {request.execution_id}: {explain(error)}"
            ) from error
        # Created and started separately (never `remove=True`): a failed start leaves a created container
        # behind, which is ours to remove.
        try:
            container.start()
        except (docker.errors.APIError, OSError) as error:
            remove_container(container)
            raise ExecutionStartFailed(
                f"the engine could not start execution {request.execution_id}: {explain(error)}"
            ) from error
        limits = EnforcedLimits(
            execution_id=request.execution_id,
            job_id=request.job_id,
            output_dir=request.output_dir,
            output=OutputLimits.of(request),
            timeout_s=request.timeout_s,
            memory_mib=request.memory_mib,
        )
        self._track(limits, container, time.monotonic() + request.timeout_s, on_log)
        logger.info("execution %s started in container %s", request.execution_id, container.short_id)

    def wait(self, execution_id: ExecutionId, timeout: float | None = None) -> ExecutionResult:
        execution = self._tracked(execution_id)
        deadline = None if timeout is None else time.monotonic() + timeout
        while not execution.done.wait(_slice(deadline)):
            if self._closing.is_set():
                raise ExecutorError(
                    f"this executor was closed while execution {execution_id} runs; reattach() from a new one"
                )
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeout(f"execution {execution_id} is still running after {timeout} s")
        assert execution.result is not None
        return execution.result

    def cancel(self, execution_id: ExecutionId) -> None:
        execution = self._tracked(execution_id)
        if not self._watcher.kill(execution, ExecutionState.CANCELLED, "cancelled by the node"):
            raise EngineUnavailable(f"could not stop execution {execution_id}: the engine did not answer")

    def logs(self, execution_id: ExecutionId, *, follow: bool = True) -> Iterator[str]:
        return self._tracked(execution_id).logs.lines(follow=follow)

    def find_running(self) -> list[RunningExecution]:
        """This node's labelled containers on the engine: running, or ended while nobody watched."""
        found = []
        for container in self._labelled_containers():
            if container.status == "removing":
                continue
            labels = container.labels
            found.append(
                RunningExecution(
                    execution_id=ExecutionId(labels[LABEL_EXECUTION]),
                    job_id=labels.get(LABEL_JOB, ""),
                    status=container.status,
                    started_at=parse_time(container.attrs.get("State", {}).get("StartedAt")),
                )
            )
        return found

    def reattach(self, execution_id: ExecutionId, *, on_log: LogCallback | None = None) -> None:
        """Watch a container started by an earlier executor (a node that restarted) again.

        The limits come from the container's labels, the deadline from its start time; output lines are
        replayed from the start (as far as the capped engine log keeps them).
        """
        self._check_open()
        with self._lock:
            if execution_id in self._executions:
                return
        containers = self._containers_of(execution_id)
        if not containers:
            raise UnknownExecution(f"no container on this engine belongs to execution {execution_id}")
        container = containers[0]
        labels = container.labels
        output = next(
            (m["Source"] for m in container.attrs.get("Mounts", []) if m.get("Destination") == OUTPUT_PATH),
            None,
        )
        if output is None:
            raise ExecutorError(
                f"container {container.short_id} of execution {execution_id} has no output mount"
            )
        try:
            limits = EnforcedLimits(
                execution_id=execution_id,
                job_id=labels.get(LABEL_JOB, ""),
                output_dir=Path(output),
                output=OutputLimits(int(labels[LABEL_OUTPUT_LIMIT]), int(labels[LABEL_OUTPUT_FILES])),
                timeout_s=float(labels[LABEL_TIMEOUT]),
                memory_mib=int(labels[LABEL_MEMORY_MIB]) if LABEL_MEMORY_MIB in labels else None,
            )
        except (KeyError, ValueError) as error:
            raise ExecutorError(
                f"container {container.short_id} of execution {execution_id} lacks its limit labels: {error}"
            ) from error
        started = parse_time(container.attrs.get("State", {}).get("StartedAt"))
        elapsed = (datetime.now(UTC) - started).total_seconds() if started else 0.0
        deadline = time.monotonic() + limits.timeout_s - max(0.0, elapsed)
        self._track(limits, container, deadline, on_log)
        logger.info("re-attached to execution %s (container %s)", execution_id, container.short_id)

    def close(self) -> None:
        """Stop watching and streaming; containers keep running for the next executor to re-attach."""
        self._closing.set()
        with self._lock:
            executions = list(self._executions.values())
        for execution in executions:
            execution.usage.stop()
            _close_quietly(execution.log_stream)
        for execution in executions:
            if execution.monitor is not None:
                execution.monitor.join(timeout=5)

    # -- beyond the interface --------------------------------------------------------------------

    def prioritize(self, execution_id: ExecutionId) -> None:
        """Give a running `idle_priority` execution the engine's normal CPU weight (`Prioritizing`)."""
        execution = self._tracked(execution_id)
        try:
            execution.container.update(cpu_shares=NORMAL_CPU_SHARES)
        except (docker.errors.APIError, OSError) as error:
            raise ExecutorError(
                f"the engine could not raise the CPU weight of execution {execution_id}: {explain(error)}"
            ) from error

    def forget(self, execution_id: ExecutionId) -> None:
        """Drop a finished execution from memory (otherwise the last `max_finished` results are kept)."""
        with self._lock:
            execution = self._executions.get(execution_id)
            if execution is not None and execution.done.is_set():
                del self._executions[execution_id]

    def prune(self) -> list[ExecutionId]:
        """Remove this node's containers that ended and that no executor is watching; returns their ids."""
        removed = []
        with self._lock:
            tracked = set(self._executions)
        for container in self._labelled_containers():
            execution_id = container.labels[LABEL_EXECUTION]
            if execution_id not in tracked and container.status in ("exited", "dead", "created"):
                remove_container(container)
                removed.append(ExecutionId(execution_id))
        return removed

    def resolve_image(self, image: ImageRef) -> str:
        """The local image id for `image`, refusing an image that is absent or has another digest."""
        return resolve_image(self._client, image)

    def gpu_runtime_available(self) -> bool:
        """Whether the engine can hand GPUs to containers (an `nvidia` runtime is registered)."""
        if self._gpu_runtime is None:
            self._gpu_runtime = "nvidia" in self._runtimes()
        return self._gpu_runtime

    # -- internals -------------------------------------------------------------------------------

    def _runtimes(self) -> list[str]:
        return engine_runtimes(self._client)

    def _check_open(self) -> None:
        if self._closing.is_set():
            raise ExecutorError("this executor is closed")

    def _tracked(self, execution_id: ExecutionId) -> WatchedExecution:
        with self._lock:
            execution = self._executions.get(execution_id)
        if execution is None:
            raise UnknownExecution(
                f"execution {execution_id} is not tracked here (after a restart, reattach() to it first)"
            )
        return execution

    def _label_filters(self, execution_id: str | None = None) -> list[str]:
        filters = [f"{LABEL_EXECUTION}={execution_id}" if execution_id else LABEL_EXECUTION]
        if self._node_id is not None:
            filters.append(f"{LABEL_NODE}={self._node_id}")
        return filters

    def _labelled_containers(self) -> list[Any]:
        try:
            return list(self._client.containers.list(all=True, filters={"label": self._label_filters()}))
        except (docker.errors.APIError, OSError) as error:
            raise EngineUnavailable(f"could not list containers: {explain(error)}") from error

    def _containers_of(self, execution_id: str) -> list[Any]:
        try:
            return list(
                self._client.containers.list(all=True, filters={"label": self._label_filters(execution_id)})
            )
        except (docker.errors.APIError, OSError) as error:
            raise EngineUnavailable(f"could not list containers: {explain(error)}") from error

    def _track(
        self, limits: EnforcedLimits, container: Any, deadline: float, on_log: LogCallback | None
    ) -> None:
        execution = WatchedExecution(
            limits=limits,
            container=container,
            deadline=deadline,
            logs=LogBuffer(max_lines=self._max_log_lines),
            usage=UsageSampler(container),
        )
        if on_log is not None:
            execution.logs.subscribe(on_log)
        with self._lock:
            self._executions[limits.execution_id] = execution
            self._evict_finished()
        execution.log_thread = threading.Thread(
            target=self._watcher.pump_logs, args=(execution,), name=f"logs-{limits.execution_id}", daemon=True
        )
        execution.monitor = threading.Thread(
            target=self._watcher.watch, args=(execution,), name=f"watch-{limits.execution_id}", daemon=True
        )
        execution.log_thread.start()
        execution.monitor.start()

    def _evict_finished(self) -> None:
        finished = [key for key, ex in self._executions.items() if ex.done.is_set()]
        for key in finished[: max(0, len(finished) - self._max_finished)]:
            del self._executions[key]


def _slice(deadline: float | None, step: float = 0.5) -> float:
    """How long to block before looking again: `step`, or less when the deadline is nearer."""
    return step if deadline is None else max(0.0, min(step, deadline - time.monotonic()))


def _close_quietly(stream: Any) -> None:
    if stream is None:
        return
    try:
        stream.close()
    except Exception as error:
        logger.debug("closing a log stream failed: %s", error)
