"""The production executor: each execution is one hardened Docker container.

What every container gets (see `container_options`): no network, a read-only root with a size-capped
tmpfs at /tmp, the input bound read-only and the output bound writable, memory (swap included), CPU and
process limits, no capabilities, no-new-privileges, an unprivileged user, an init process, and labels
naming the job and execution so a restarted node finds its containers again.

What the engine cannot enforce here, the executor does from outside: the wall-clock timeout (kill, state
`timed_out`) and the output size (the folder is watched while the job runs and measured again at the
end). Overlay2's `storage_opt` size quota only works on xfs with project quotas; on ext4 the engine
refuses the container, so it is not used.

Images are never pulled: an execution starts only from an image present locally whose id or repo
digest equals the pinned digest, and the container is created from that exact image id.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.types import DeviceRequest, LogConfig, Mount, Ulimit

from jobs.executors._common import (
    DirUsage,
    OutputLimits,
    describe_exit,
    measure_output,
    output_breach,
)
from jobs.executors._logs import LogBuffer
from jobs.executors._usage import UsageSampler
from jobs.executors.base import (
    ENV_EXECUTION_ID,
    ENV_INPUT_DIR,
    ENV_JOB_ID,
    ENV_OUTPUT_DIR,
    ENV_TMP_DIR,
    MIB,
    ExecutionId,
    ExecutionRequest,
    ExecutionResult,
    ExecutionState,
    ImageRef,
    LogCallback,
    RunningExecution,
    thread_env,
)
from jobs.executors.errors import (
    EngineUnavailable,
    ExecutionExists,
    ExecutionStartFailed,
    ExecutorError,
    GpuUnavailable,
    ImageDigestMismatch,
    ImageUnavailable,
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

LABEL_JOB = "crowdcompute.job"
LABEL_EXECUTION = "crowdcompute.execution"
LABEL_NODE = "crowdcompute.node"
# Limits a re-attaching executor must keep enforcing, carried on the container itself.
LABEL_TIMEOUT = "crowdcompute.timeout_s"
LABEL_OUTPUT_LIMIT = "crowdcompute.output_limit_bytes"
LABEL_OUTPUT_FILES = "crowdcompute.output_max_files"
LABEL_MEMORY_MIB = "crowdcompute.memory_mib"

CONTAINER_UID = 65534  # "nobody": owns nothing in the image or on the host
CONTAINER_GID = 65534
INPUT_PATH = "/input"
OUTPUT_PATH = "/output"
TMP_PATH = "/tmp"

_NEVER = "0001-01-01T00:00:00Z"  # the engine's zero time: "not started" / "not finished"


def container_name(execution_id: str) -> str:
    return f"crowdcompute-{execution_id}"


def container_options(
    request: ExecutionRequest,
    *,
    image_id: str,
    node_id: str | None = None,
    gpu_runtime: bool = False,
    log_max_bytes: int = 32 * MIB,
) -> dict[str, Any]:
    """The keyword arguments for `client.containers.create` that run `request` hardened.

    A pure function of the request, so the hardening can be read and tested in one place.
    """
    if request.gpus and not gpu_runtime:
        raise GpuUnavailable(
            f"execution {request.execution_id} asks for {request.gpus} GPU(s) "
            "but the engine has no NVIDIA runtime"
        )
    memory = request.memory_mib * MIB
    env = {
        **request.env,
        **thread_env(request.cpus),
        "HOME": TMP_PATH,
        "TMPDIR": TMP_PATH,
        "PYTHONUNBUFFERED": "1",  # lines reach the live log as they are printed
        "PYTHONDONTWRITEBYTECODE": "1",  # the root is read-only
        ENV_OUTPUT_DIR: OUTPUT_PATH,
        ENV_TMP_DIR: TMP_PATH,
        ENV_EXECUTION_ID: request.execution_id,
        ENV_JOB_ID: request.job_id,
    }
    mounts = [Mount(target=OUTPUT_PATH, source=str(request.output_dir), type="bind", read_only=False)]
    if request.input_dir is not None:
        env[ENV_INPUT_DIR] = INPUT_PATH
        mounts.append(Mount(target=INPUT_PATH, source=str(request.input_dir), type="bind", read_only=True))
    labels = {
        **request.labels,
        LABEL_JOB: request.job_id,
        LABEL_EXECUTION: request.execution_id,
        LABEL_TIMEOUT: repr(request.timeout_s),
        LABEL_OUTPUT_LIMIT: str(request.output_limit_bytes),
        LABEL_OUTPUT_FILES: str(request.output_max_files),
        LABEL_MEMORY_MIB: str(request.memory_mib),
    }
    if node_id is not None:
        labels[LABEL_NODE] = node_id
    options: dict[str, Any] = {
        "image": image_id,
        "entrypoint": [request.argv[0]],
        "command": list(request.argv[1:]),
        "name": container_name(request.execution_id),
        "hostname": "crowdcompute",
        "labels": labels,
        "environment": env,
        "working_dir": INPUT_PATH if request.input_dir is not None else TMP_PATH,
        "user": f"{CONTAINER_UID}:{CONTAINER_GID}",
        "network_mode": "none",
        "read_only": True,
        "tmpfs": {TMP_PATH: f"rw,nosuid,nodev,size={request.tmp_limit_bytes},mode=1777"},
        # No `storage_opt` size: overlay2 quotas need xfs with pquota and the engine refuses them on ext4;
        # the root is read-only anyway, and the output folder is watched by the executor instead.
        "mounts": mounts,
        "mem_limit": memory,
        "memswap_limit": memory,  # equal: no swap on top of the memory limit
        "nano_cpus": round(request.cpus * 1e9),
        "pids_limit": request.pids,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "init": True,  # reaps zombies and forwards signals; the job is never pid 1
        "ipc_mode": "private",
        "oom_score_adj": 500,  # under host memory pressure, jobs go before the node
        "ulimits": [Ulimit(name="core", soft=0, hard=0), Ulimit(name="nofile", soft=8192, hard=8192)],
        # json-file explicitly: `logs()` must work whatever the daemon's default driver, and the
        # size cap keeps a chatty job from filling the host's disk with its log.
        "log_config": LogConfig(
            type=LogConfig.types.JSON, config={"max-size": str(log_max_bytes), "max-file": "1"}
        ),
        "stdin_open": False,
        "tty": False,
    }
    if request.gpus and request.gpu_devices:  # the node's own allocation: concurrent jobs never share
        options["device_requests"] = [
            DeviceRequest(device_ids=list(request.gpu_devices), capabilities=[["gpu"]])
        ]
    elif request.gpus:
        options["device_requests"] = [DeviceRequest(count=request.gpus, capabilities=[["gpu"]])]
    return options


@dataclass(slots=True)
class _Limits:
    """What the monitor enforces: from the request, or from a container's labels after a restart."""

    execution_id: ExecutionId
    job_id: str
    output_dir: Path
    output: OutputLimits
    timeout_s: float
    memory_mib: int | None


@dataclass(slots=True)
class _Execution:
    limits: _Limits
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
        self._poll = poll_interval_s
        self._gpu_runtime = gpu_runtime
        self._keep = keep_containers
        self._engine_grace = engine_grace_s
        self._log_max_bytes = log_max_bytes
        self._max_log_lines = max_log_lines
        self._max_finished = max_finished
        self._executions: dict[str, _Execution] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()

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
        self._prepare_dirs(request)
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
                f"the engine refused to create execution {request.execution_id}: {_explain(error)}"
            ) from error
        # Created and started separately (never `remove=True`): a failed start leaves a created container
        # behind, which is ours to remove.
        try:
            container.start()
        except (docker.errors.APIError, OSError) as error:
            self._remove(container)
            raise ExecutionStartFailed(
                f"the engine could not start execution {request.execution_id}: {_explain(error)}"
            ) from error
        limits = _Limits(
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
        if not self._kill(execution, ExecutionState.CANCELLED, "cancelled by the node"):
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
                    started_at=_parse_time(container.attrs.get("State", {}).get("StartedAt")),
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
            limits = _Limits(
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
        started = _parse_time(container.attrs.get("State", {}).get("StartedAt"))
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
                self._remove(container)
                removed.append(ExecutionId(execution_id))
        return removed

    def resolve_image(self, image: ImageRef) -> str:
        """The local image id for `image`, refusing an image that is absent or has another digest."""
        try:
            found = self._client.images.get(image.name)
        except docker.errors.ImageNotFound as error:
            raise ImageUnavailable(
                f"image {image.name!r} (pinned to {image.digest}) is not present on this host; "
                "nodes never pull images: build or load it first"
            ) from error
        except (docker.errors.APIError, OSError) as error:
            raise EngineUnavailable(f"could not look up image {image.name!r}: {_explain(error)}") from error
        digests = (found.id, *(d.split("@", 1)[1] for d in found.attrs.get("RepoDigests") or [] if "@" in d))
        if image.digest not in digests:
            raise ImageDigestMismatch(image.name, image.digest, digests)
        return str(found.id)

    def gpu_runtime_available(self) -> bool:
        """Whether the engine can hand GPUs to containers (an `nvidia` runtime is registered)."""
        if self._gpu_runtime is None:
            self._gpu_runtime = "nvidia" in self._runtimes()
        return self._gpu_runtime

    # -- internals -------------------------------------------------------------------------------

    def _runtimes(self) -> list[str]:
        try:
            return sorted((self._client.info().get("Runtimes") or {}).keys())
        except (docker.errors.APIError, OSError) as error:
            raise EngineUnavailable(
                f"could not ask the engine for its runtimes: {_explain(error)}"
            ) from error

    def _check_open(self) -> None:
        if self._closing.is_set():
            raise ExecutorError("this executor is closed")

    def _tracked(self, execution_id: ExecutionId) -> _Execution:
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
            raise EngineUnavailable(f"could not list containers: {_explain(error)}") from error

    def _containers_of(self, execution_id: str) -> list[Any]:
        try:
            return list(
                self._client.containers.list(all=True, filters={"label": self._label_filters(execution_id)})
            )
        except (docker.errors.APIError, OSError) as error:
            raise EngineUnavailable(f"could not list containers: {_explain(error)}") from error

    def _prepare_dirs(self, request: ExecutionRequest) -> None:
        if request.input_dir is not None and not request.input_dir.is_dir():
            raise ExecutorError(f"input_dir {request.input_dir} is not a folder")
        request.output_dir.mkdir(parents=True, exist_ok=True)
        if request.input_dir is not None:
            inp, out = request.input_dir.resolve(), request.output_dir.resolve()
            if inp == out or inp.is_relative_to(out) or out.is_relative_to(inp):
                raise ExecutorError(f"input_dir {inp} and output_dir {out} overlap")
        # The job runs as nobody: hand it the output folder (or, for an unprivileged node, open it up).
        try:
            os.chown(request.output_dir, CONTAINER_UID, CONTAINER_GID)
        except PermissionError:
            request.output_dir.chmod(0o777)

    def _track(self, limits: _Limits, container: Any, deadline: float, on_log: LogCallback | None) -> None:
        execution = _Execution(
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
            target=self._pump_logs, args=(execution,), name=f"logs-{limits.execution_id}", daemon=True
        )
        execution.monitor = threading.Thread(
            target=self._watch, args=(execution,), name=f"watch-{limits.execution_id}", daemon=True
        )
        execution.log_thread.start()
        execution.monitor.start()

    def _evict_finished(self) -> None:
        finished = [key for key, ex in self._executions.items() if ex.done.is_set()]
        for key in finished[: max(0, len(finished) - self._max_finished)]:
            del self._executions[key]

    def _pump_logs(self, execution: _Execution) -> None:
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

    def _watch(self, execution: _Execution) -> None:
        """Enforce the limits until the container ends, then record the result and remove it."""
        limits = execution.limits
        try:
            while not self._closing.is_set():
                now = time.monotonic()
                if execution.kill_state is None and now >= execution.deadline:
                    self._kill(
                        execution,
                        ExecutionState.TIMED_OUT,
                        f"ran past its wall-clock limit of {limits.timeout_s:g} s and was killed",
                    )
                status = self._wait_for_exit(execution, min(self._poll, max(execution.deadline - now, 0.05)))
                if status == "ended":
                    self._finish(execution)
                    return
                if status == "gone":
                    self._finish_lost(execution, "its container disappeared (removed outside this executor)")
                    return
                if status == "never-started":
                    self._remove(execution.container)
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
                        self._kill(
                            execution,
                            ExecutionState.OUTPUT_TOO_LARGE,
                            output_breach(limits.output, usage) + "; killed while running",
                        )
        except Exception as error:  # the monitor must always leave a result behind
            logger.exception("watching execution %s failed", limits.execution_id)
            self._finish_lost(execution, f"the executor failed while watching it: {error!r}")

    def _wait_for_exit(self, execution: _Execution, seconds: float) -> str:
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

    def _kill(self, execution: _Execution, state: ExecutionState, reason: str) -> bool:
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
    def _forget_kill(execution: _Execution) -> None:
        with execution.lock:
            execution.kill_state, execution.kill_reason = None, ""

    def _finish(self, execution: _Execution) -> None:
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
            self._remove(container)  # before publishing: when `wait` returns, nothing is left behind
        self._publish(
            execution,
            ExecutionResult(
                execution_id=limits.execution_id,
                state=state,
                exit_code=exit_code if isinstance(exit_code, int) else None,
                reason=reason,
                started_at=_parse_time(state_info.get("StartedAt")),
                finished_at=_parse_time(state_info.get("FinishedAt")),
                cpu_seconds=_seconds(execution.usage.cpu_ns),
                peak_memory_bytes=execution.usage.peak_memory,
                output_bytes=usage.bytes,
            ),
        )

    def _verdict(
        self, execution: _Execution, state_info: dict[str, Any], usage: DirUsage
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

    def _finish_lost(self, execution: _Execution, reason: str) -> None:
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

    def _publish(self, execution: _Execution, result: ExecutionResult) -> None:
        execution.usage.stop()
        with execution.lock:
            if execution.done.is_set():
                return
            execution.result = result
            execution.done.set()
        logger.info("execution %s ended %s: %s", result.execution_id, result.state, result.reason)

    def _remove(self, container: Any) -> None:
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


def _slice(deadline: float | None, step: float = 0.5) -> float:
    """How long to block before looking again: `step`, or less when the deadline is nearer."""
    return step if deadline is None else max(0.0, min(step, deadline - time.monotonic()))


def _parse_time(value: str | None) -> datetime | None:
    """The engine's RFC 3339 times (nanoseconds, 'Z'); None for its zero time."""
    if not value or value == _NEVER:
        return None
    head, _, rest = value.rstrip("Z").partition(".")
    digits = "".join(ch for ch in rest if ch.isdigit())[:6].ljust(6, "0")
    try:
        return datetime.fromisoformat(f"{head}.{digits}").replace(tzinfo=UTC)
    except ValueError:
        return None


def _explain(error: BaseException) -> str:
    explanation = getattr(error, "explanation", None)
    return str(explanation or error)


def _close_quietly(stream: Any) -> None:
    if stream is None:
        return
    try:
        stream.close()
    except Exception as error:
        logger.debug("closing a log stream failed: %s", error)
