"""How an execution's container is made: its folders, the hardened `containers.create` options, and the
labels a restarted node reads its limits back from.

What every container gets (see `container_options`): no network, a read-only root with a size-capped
tmpfs at /tmp, the input bound read-only and the output bound writable, memory (swap included), CPU and
process limits, no capabilities, no-new-privileges, an unprivileged user, an init process, and labels
naming the job and execution so a restarted node finds its containers again.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from docker.types import DeviceRequest, LogConfig, Mount, Ulimit

from jobs.executors.base import (
    ENV_EXECUTION_ID,
    ENV_INPUT_DIR,
    ENV_JOB_ID,
    ENV_OUTPUT_DIR,
    ENV_TMP_DIR,
    MIB,
    ExecutionRequest,
    numeric_env,
)
from jobs.executors.errors import ExecutorError, GpuUnavailable

LABEL_JOB = "crowdcompute.job"
LABEL_EXECUTION = "crowdcompute.execution"
LABEL_NODE = "crowdcompute.node"
# Limits a re-attaching executor must keep enforcing, carried on the container itself.
LABEL_TIMEOUT = "crowdcompute.timeout_s"
LABEL_OUTPUT_LIMIT = "crowdcompute.output_limit_bytes"
LABEL_OUTPUT_FILES = "crowdcompute.output_max_files"
LABEL_MEMORY_MIB = "crowdcompute.memory_mib"

# cgroup CPU weights: the engine's default, and the kernel's smallest (an `idle_priority` execution's until
# `prioritize`: under contention it gets ~1/512 of what a normal container gets, and all of an idle CPU).
NORMAL_CPU_SHARES = 1024
IDLE_CPU_SHARES = 2

CONTAINER_UID = 65534  # "nobody": owns nothing in the image or on the host
CONTAINER_GID = 65534
INPUT_PATH = "/input"
OUTPUT_PATH = "/output"
TMP_PATH = "/tmp"


def container_name(execution_id: str, node_id: str | None = None) -> str:
    """`crowdcompute-<execution id>`, and a digest of the node's label when it has one: Docker names are
    engine-wide, and two nodes of one account (two stacks on one engine) may run the same execution id."""
    if node_id is None:
        return f"crowdcompute-{execution_id}"
    return f"crowdcompute-{execution_id}-{hashlib.sha256(node_id.encode()).hexdigest()[:8]}"


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
        **numeric_env(request.cpus),
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
        "name": container_name(request.execution_id, node_id),
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
        "cpu_shares": IDLE_CPU_SHARES if request.idle_priority else NORMAL_CPU_SHARES,
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


def prepare_dirs(request: ExecutionRequest) -> None:
    """Check the request's folders (input present, input and output apart) and make the output the job's."""
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
