"""The Docker executor against the real engine: hostile jobs stay contained and the node stays healthy.

Each hostile job tries one escape and, should it succeed, prints BREACH and exits 0; contained, it
fails, and the result must say why. No test sends traffic off this machine: jobs run with network
"none", the network jobs first check that only the loopback interface exists, and the "public" address
they try is in TEST-NET-3 (203.0.113.0/24, reserved for documentation, routed nowhere).

The engine comes from tools/ensure-docker.sh; when it cannot provide one these tests fail, never skip.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import types
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from jobs.executors import (
    ExecutionExists,
    ExecutionId,
    ExecutionStartFailed,
    ExecutionState,
    Executor,
    ExecutorError,
    GpuUnavailable,
    ImageDigestMismatch,
    ImageRef,
    ImageUnavailable,
    InvalidExecutionRequest,
    Prioritizing,
    UnknownExecution,
    WaitTimeout,
)
from jobs.executors._usage import UsageSampler
from jobs.executors.base import MIB
from jobs.executors.docker import (
    LABEL_EXECUTION,
    LABEL_JOB,
    LABEL_NODE,
    DockerExecutor,
    container_options,
)
from jobs.executors.docker_options import (
    IDLE_CPU_SHARES,
    NORMAL_CPU_SHARES,
)
from tests.jobs.execution_requests import STAND_IN_IMAGE, RequestFactory, request_factory, run
from tests.jobs.executor_images import (
    SUID_PYTHON,
    TEST_IMAGE_TAG,
    build_runtime_image,
    build_test_image,
    ensure_docker,
    load_builder,
)

NODE = f"pytest-{os.getpid()}-{uuid.uuid4().hex[:6]}"


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    ensure_docker()  # raises (test error, not skip) when no engine can be had
    client = docker.from_env(timeout=900)
    yield client
    for container in client.containers.list(all=True, filters={"label": f"{LABEL_NODE}={NODE}"}):
        container.remove(force=True)
    client.close()


@pytest.fixture(scope="session")
def test_image(docker_client: Any) -> ImageRef:
    return build_test_image(docker_client)


@pytest.fixture
def executor(docker_client: Any) -> Iterator[DockerExecutor]:
    executor = DockerExecutor(docker_client, node_id=NODE, poll_interval_s=0.2)
    yield executor
    executor.close()
    leftovers = docker_client.containers.list(all=True, filters={"label": f"{LABEL_NODE}={NODE}"})
    for container in leftovers:
        container.remove(force=True)
    assert not leftovers, f"the executor left containers behind: {[c.name for c in leftovers]}"


@pytest.fixture
def make_request(tmp_path: Path, test_image: ImageRef) -> RequestFactory:
    """A request running `script` as /input/job.py in the test image, with small limits unless overridden."""
    return request_factory(tmp_path, test_image)


@pytest.fixture
def make_offline_request(tmp_path: Path) -> RequestFactory:
    """The same requests naming a stand-in image, for what never reaches the engine."""
    return request_factory(tmp_path, STAND_IN_IMAGE)


def assert_engine_healthy(executor: Executor, make_request: RequestFactory) -> None:
    result = run(executor, make_request("print('still healthy')"))
    assert result.ok, result.reason


# -- the happy path --------------------------------------------------------------------------------


def test_happy_path_streams_logs_live_and_measures_cpu(
    executor: DockerExecutor, make_request: RequestFactory
) -> None:
    request = make_request(
        """
        import os, time
        for step in range(6):
            end = time.process_time() + 0.25
            while time.process_time() < end:
                pass
            print(f"step {step} threads={os.environ['OMP_NUM_THREADS']}", flush=True)
        with open(os.path.join(os.environ["CROWDCOMPUTE_OUTPUT_DIR"], "result.txt"), "w") as f:
            f.write("trained\\n")
        """,
        cpus=1.0,
    )
    arrivals: list[tuple[float, str]] = []
    executor.start(request, on_log=lambda line: arrivals.append((time.monotonic(), line)))
    followed = list(executor.logs(request.execution_id))  # blocks until the job ends
    ended = time.monotonic()
    result = executor.wait(request.execution_id)

    assert result.state is ExecutionState.SUCCEEDED, result.reason
    assert result.exit_code == 0
    assert [line for _, line in arrivals] == [f"step {i} threads=1" for i in range(6)]
    assert followed == [line for _, line in arrivals]
    assert arrivals[0][0] < ended - 0.5, "the first line only arrived when the job ended: not live"
    assert result.cpu_seconds is not None and 0.8 < result.cpu_seconds < 10, result.cpu_seconds
    assert result.peak_memory_bytes is not None and result.peak_memory_bytes > MIB
    assert result.started_at is not None and result.finished_at is not None
    assert result.duration_s is not None and result.duration_s >= 1.0
    assert result.output_bytes is not None and result.output_bytes >= len("trained\n")
    assert (request.output_dir / "result.txt").read_text() == "trained\n"
    assert result.to_dict()["state"] == "succeeded"


def test_sandbox_is_hardened_from_inside(executor: DockerExecutor, make_request: RequestFactory) -> None:
    request = make_request(
        """
        import json, os, socket
        status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines())
        mounts = {}
        for line in open("/proc/self/mountinfo"):
            fields = line.split()
            dash = fields.index("-")
            mounts[fields[4]] = {"options": fields[5], "fstype": fields[dash + 1], "super": fields[-1]}
        print(json.dumps({
            "uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(), "groups": os.getgroups(),
            "caps": {k: status[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")},
            "no_new_privs": status["NoNewPrivs"].strip(), "seccomp": status["Seccomp"].strip(),
            "mounts": mounts, "interfaces": sorted(os.listdir("/sys/class/net")),
            "hostname": socket.gethostname(), "pid": os.getpid(),
            "env": {k: v for k, v in os.environ.items()
                    if k.endswith(("_THREADS", "_CBWR")) or k.startswith("CROWD")},
        }))
        """
    )
    result = run(executor, request)
    assert result.ok, result.reason
    facts = json.loads(list(executor.logs(request.execution_id, follow=False))[-1])

    assert (facts["uid"], facts["euid"], facts["gid"]) == (65534, 65534, 65534)
    assert 0 not in facts["groups"]
    assert set(facts["caps"].values()) == {"0000000000000000"}, facts["caps"]
    assert facts["no_new_privs"] == "1"
    assert facts["seccomp"] == "2"  # the engine's default seccomp filter
    assert facts["interfaces"] == ["lo"]
    assert facts["pid"] != 1  # the init process is pid 1, not the job
    mounts = facts["mounts"]
    assert "ro" in mounts["/"]["options"].split(",")
    assert "ro" in mounts["/input"]["options"].split(",")
    assert "rw" in mounts["/output"]["options"].split(",")
    assert mounts["/tmp"]["fstype"] == "tmpfs"
    assert "size=16384k" in mounts["/tmp"]["super"]
    assert facts["env"]["OMP_NUM_THREADS"] == "1"
    assert facts["env"]["MKL_CBWR"] == "COMPATIBLE"  # MKL's one code path: replays give the same bits
    assert facts["env"]["CROWDCOMPUTE_INPUT_DIR"] == "/input"
    assert facts["env"]["CROWDCOMPUTE_EXECUTION_ID"] == request.execution_id


# -- hostile jobs ----------------------------------------------------------------------------------

ONLY_LOOPBACK = """
import os, sys
if os.listdir("/sys/class/net") != ["lo"]:
    print("BREACH: the container has a network:", os.listdir("/sys/class/net"))
    sys.exit(0)  # never try to connect anywhere when the sandbox has a network
"""

HOSTILE: dict[str, tuple[str, dict[str, Any], str]] = {
    # name: (script, request overrides, words the failure reason must contain)
    "connect to the public internet": (
        ONLY_LOOPBACK
        + """
import socket
socket.create_connection(("203.0.113.7", 443), timeout=3)
print("BREACH: connected")
""",
        {},
        "Network is unreachable",
    ),
    "reach the docker socket": (
        """
import socket
s = socket.socket(socket.AF_UNIX)
s.connect("/var/run/docker.sock")
print("BREACH: docker socket")
""",
        {},
        "FileNotFoundError",
    ),
    "open a raw socket (CAP_NET_RAW is dropped)": (
        """
import socket
socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
print("BREACH: raw socket")
""",
        {},
        "PermissionError: [Errno 1] Operation not permitted",
    ),
    "become root with setuid": (
        """
import os
os.setuid(0)
print("BREACH: root")
""",
        {},
        "PermissionError: [Errno 1] Operation not permitted",
    ),
    "become root through a set-uid binary (no-new-privileges)": (
        f"""
import os
check = (
    "import os, sys; e = os.geteuid(); "
    "print('BREACH: euid 0') if e == 0 else sys.exit(f'euid stays {{e}}')"
)
os.execv("{SUID_PYTHON}", ["suid-python", "-c", check])
""",
        {},
        "euid stays 65534",
    ),
    "chown the output to root (CAP_CHOWN is dropped)": (
        """
import os
os.chown("/output", 0, 0)
print("BREACH: chown")
""",
        {},
        "PermissionError: [Errno 1] Operation not permitted",
    ),
    "write into the image (read-only root; /var/tmp is world-writable in the image)": (
        """
open("/var/tmp/planted.py", "w").write("# planted")
print("BREACH: wrote into the image")
""",
        {},
        "Read-only file system",
    ),
    "add a user to /etc/passwd": (
        """
open("/etc/passwd", "a").write("evil:x:0:0::/:/bin/sh\\n")
print("BREACH: passwd")
""",
        {},
        "Permission denied",
    ),
    "write into its input (read-only bind, though the folder is mode 777)": (
        """
open("/input/planted.py", "w").write("# tampered")
print("BREACH: input changed")
""",
        {"input_mode": 0o777},
        "Read-only file system",
    ),
    "read the host's /etc/shadow": (
        """
print(open("/etc/shadow").read()[:20])
print("BREACH: shadow")
""",
        {},
        "FileNotFoundError",
    ),
    "fill the tmpfs": (
        """
with open("/tmp/fill", "wb") as f:
    for _ in range(64):
        f.write(b"x" * (1 << 20))
        f.flush()
print("BREACH: wrote 64 MiB into a 4 MiB /tmp")
""",
        {"tmp_limit_bytes": 4 * MIB},
        "No space left on device",
    ),
    "fork until refused (pids limit)": (
        """
import os, sys, time
children = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        children += 1
        if children > 1000:
            print("BREACH: 1000 processes")
            sys.exit(0)
except OSError as error:
    sys.exit(f"fork refused after {children} children: {error}")
""",
        {"pids": 24},
        "fork refused after",
    ),
}


@pytest.mark.parametrize("attack", list(HOSTILE), ids=list(HOSTILE))
def test_hostile_job_is_contained(
    executor: DockerExecutor, make_request: RequestFactory, attack: str
) -> None:
    script, overrides, reason = HOSTILE[attack]
    request = make_request(script, **overrides)
    result = run(executor, request)
    lines = list(executor.logs(request.execution_id, follow=False))
    assert not any("BREACH" in line for line in lines), lines
    assert result.state is ExecutionState.FAILED, (result, lines)
    assert reason in result.reason, (result.reason, lines)
    if attack.startswith("fork"):
        children = int(result.reason.split("after ")[1].split()[0])
        assert children < 24


def test_host_loopback_services_are_unreachable(
    executor: DockerExecutor, make_request: RequestFactory
) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        request = make_request(
            ONLY_LOOPBACK
            + f"""
import socket
socket.create_connection(("127.0.0.1", {port}), timeout=3)
print("BREACH: reached the host's loopback")
"""
        )
        result = run(executor, request)
    assert result.state is ExecutionState.FAILED
    assert "ConnectionRefusedError" in result.reason


def test_other_jobs_inputs_are_not_visible(
    executor: DockerExecutor, make_request: RequestFactory, tmp_path: Path
) -> None:
    other = tmp_path / "other-job-input"
    other.mkdir()
    (other / "secret-of-another-job.txt").write_text("model weights")
    request = make_request(
        """
        import os
        for folder, dirs, files in os.walk("/"):
            if folder in ("/proc", "/sys", "/dev"):
                dirs[:] = []
                continue
            if "secret-of-another-job.txt" in files or "other-job-input" in dirs:
                print("BREACH: found", folder)
                raise SystemExit(0)
        mounted = open("/proc/self/mountinfo").read()
        assert "other-job-input" not in mounted, "BREACH: mounted"
        raise FileNotFoundError("the other job's input is nowhere in this sandbox")
        """
    )
    result = run(executor, request)
    assert result.state is ExecutionState.FAILED
    assert "is nowhere in this sandbox" in result.reason


def test_memory_hog_is_oom_killed(executor: DockerExecutor, make_request: RequestFactory) -> None:
    request = make_request(
        """
        blocks = []
        for _ in range(1024):  # 1 GiB at most, far above the 64 MiB limit
            blocks.append(b"\\x01" * (1 << 20))  # touched, not just reserved
        print("BREACH: 1 GiB allocated")
        """,
        memory_mib=64,
    )
    result = run(executor, request)
    assert result.state is ExecutionState.OOM_KILLED, result
    assert "out-of-memory" in result.reason and "64 MiB" in result.reason
    assert result.exit_code == 137
    assert_engine_healthy(executor, make_request)


def test_fork_bomb_is_contained_and_killed_at_timeout(
    executor: DockerExecutor, make_request: RequestFactory
) -> None:
    request = make_request(
        """
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
        """,
        pids=32,
        timeout_s=2.0,
    )
    began = time.monotonic()
    result = run(executor, request)
    assert result.state is ExecutionState.TIMED_OUT, result
    assert time.monotonic() - began < 15
    assert_engine_healthy(executor, make_request)


def test_runaway_job_is_killed_at_the_wall_clock_limit(
    executor: DockerExecutor, make_request: RequestFactory
) -> None:
    request = make_request("import time\nprint('sleeping', flush=True)\ntime.sleep(120)\n", timeout_s=1.5)
    began = time.monotonic()
    result = run(executor, request)
    assert result.state is ExecutionState.TIMED_OUT, result
    assert "1.5 s" in result.reason
    assert time.monotonic() - began < 10
    assert result.exit_code == 137


def test_output_flood_is_killed_while_running(executor: DockerExecutor, make_request: RequestFactory) -> None:
    request = make_request(
        """
        import time
        with open("/output/flood.bin", "wb") as f:
            for _ in range(512):  # 512 MiB if nobody stops it
                f.write(b"x" * (1 << 20))
                f.flush()
                time.sleep(0.02)
        print("BREACH: wrote 512 MiB")
        """,
        output_limit_bytes=8 * MIB,
    )
    result = run(executor, request)
    assert result.state is ExecutionState.OUTPUT_TOO_LARGE, result
    assert "killed while running" in result.reason
    assert (request.output_dir / "flood.bin").stat().st_size < 128 * MIB


def test_output_over_the_cap_at_exit_is_refused(
    executor: DockerExecutor, make_request: RequestFactory
) -> None:
    request = make_request(
        "open('/output/big.bin', 'wb').write(b'x' * (12 << 20))\n", output_limit_bytes=8 * MIB
    )
    result = run(executor, request)
    assert result.state is ExecutionState.OUTPUT_TOO_LARGE, result
    assert "8.0 MiB" in result.reason


def test_output_file_count_is_capped(executor: DockerExecutor, make_request: RequestFactory) -> None:
    request = make_request(
        "for i in range(2000):\n    open(f'/output/f{i}', 'w').close()\n", output_max_files=100
    )
    result = run(executor, request)
    assert result.state is ExecutionState.OUTPUT_TOO_LARGE, result
    assert "100 entries" in result.reason


def test_engine_stays_healthy_after_hostile_jobs(
    executor: DockerExecutor, make_request: RequestFactory
) -> None:
    assert_engine_healthy(executor, make_request)


# -- refusals before anything runs -----------------------------------------------------------------


def test_image_with_another_digest_is_refused(executor: DockerExecutor, make_request: RequestFactory) -> None:
    pinned = "sha256:" + "0" * 64
    request = make_request("print('BREACH')", image=ImageRef(TEST_IMAGE_TAG, pinned))
    with pytest.raises(ImageDigestMismatch) as caught:
        executor.start(request)
    message = str(caught.value)
    assert TEST_IMAGE_TAG in message and pinned in message
    assert caught.value.found[0].startswith("sha256:") and caught.value.found[0] in message
    with pytest.raises(UnknownExecution):
        executor.wait(request.execution_id)


def test_absent_image_is_refused_not_pulled(executor: DockerExecutor, make_request: RequestFactory) -> None:
    request = make_request(
        "print('BREACH')", image=ImageRef("crowdcompute/never-built:0", "sha256:" + "1" * 64)
    )
    with pytest.raises(ImageUnavailable, match="never pull"):
        executor.start(request)


def test_gpu_job_fails_fast_without_an_nvidia_runtime(
    executor: DockerExecutor, make_request: RequestFactory
) -> None:
    assert not executor.gpu_runtime_available(), "this host has an NVIDIA runtime; the test expects none"
    began = time.monotonic()
    with pytest.raises(GpuUnavailable, match="no NVIDIA runtime"):
        executor.start(make_request("print('BREACH')", gpus=1))
    assert time.monotonic() - began < 5


def test_failed_start_leaves_no_container(
    docker_client: Any, make_request: RequestFactory, executor: DockerExecutor
) -> None:
    """Pretend the engine has the NVIDIA runtime: the GPU request then fails at start(), for real."""
    lying = DockerExecutor(docker_client, node_id=NODE, gpu_runtime=True)
    request = make_request("print('BREACH')", gpus=1)
    with pytest.raises(ExecutionStartFailed, match="could not start"):
        lying.start(request)
    left = docker_client.containers.list(
        all=True, filters={"label": f"{LABEL_EXECUTION}={request.execution_id}"}
    )
    assert left == []


def test_duplicate_execution_id_is_refused(executor: DockerExecutor, make_request: RequestFactory) -> None:
    request = make_request("import time; time.sleep(30)")
    executor.start(request)
    try:
        with pytest.raises(ExecutionExists):
            executor.start(request)
        other = DockerExecutor(executor._client, node_id=NODE)
        with pytest.raises(ExecutionExists, match="reattach"):
            other.start(request)
    finally:
        executor.cancel(request.execution_id)
        executor.wait(request.execution_id, timeout=30)


# -- control: cancel, wait, re-attach --------------------------------------------------------------


def test_cancel_stops_a_running_job(executor: DockerExecutor, make_request: RequestFactory) -> None:
    request = make_request("import time\nprint('running', flush=True)\ntime.sleep(60)\n")
    started = threading.Event()
    executor.start(request, on_log=lambda line: started.set())
    assert started.wait(30)
    with pytest.raises(WaitTimeout):
        executor.wait(request.execution_id, timeout=0.1)
    executor.cancel(request.execution_id)
    result = executor.wait(request.execution_id, timeout=30)
    assert result.state is ExecutionState.CANCELLED
    executor.cancel(request.execution_id)  # a second cancel is harmless


def test_idle_priority_execution_runs_at_the_lowest_weight_until_prioritized(
    executor: DockerExecutor, make_request: RequestFactory, docker_client: Any
) -> None:
    # The weight the job's own cgroup shows from inside (cgroup v1), and the engine's record of it.
    script = """
        import os, time
        def shares():
            path = "/sys/fs/cgroup/cpu/cpu.shares"
            return open(path).read().strip() if os.path.exists(path) else "unknown"
        print("waiting", shares(), flush=True)
        while not os.path.exists("/output/go"):
            time.sleep(0.05)
        print("going", shares(), flush=True)
    """
    request = make_request(script, idle_priority=True)
    waiting = threading.Event()
    executor.start(request, on_log=lambda line: waiting.set() if line.startswith("waiting") else None)
    assert waiting.wait(30)

    def engine_shares() -> int:
        (container,) = docker_client.containers.list(
            filters={"label": f"{LABEL_EXECUTION}={request.execution_id}"}
        )
        return int(container.attrs["HostConfig"]["CpuShares"])

    assert engine_shares() == IDLE_CPU_SHARES
    assert isinstance(executor, Prioritizing)
    executor.prioritize(request.execution_id)
    assert engine_shares() == NORMAL_CPU_SHARES
    (request.output_dir / "go").write_text("")
    result = executor.wait(request.execution_id, timeout=30)
    assert result.ok, result.reason
    waited, went = list(executor.logs(request.execution_id, follow=False))[:2]
    if "unknown" not in waited:  # a cgroup v1 host: the kernel applies the weight the engine records
        assert (waited, went) == (f"waiting {IDLE_CPU_SHARES}", f"going {NORMAL_CPU_SHARES}")


def test_restarted_node_reattaches_and_collects_the_result(
    docker_client: Any, make_request: RequestFactory
) -> None:
    request = make_request(
        """
        import time
        print("started", flush=True)
        time.sleep(2)
        open("/output/model.bin", "w").write("weights")
        print("done", flush=True)
        """
    )
    first = DockerExecutor(docker_client, node_id=NODE, poll_interval_s=0.2)
    first.start(request)
    first.close()  # the node goes down; its job keeps running

    second = DockerExecutor(docker_client, node_id=NODE, poll_interval_s=0.2)
    try:
        found = {found.execution_id: found for found in second.find_running()}
        assert request.execution_id in found
        assert found[request.execution_id].job_id == "job-7"
        with pytest.raises(UnknownExecution):
            second.wait(request.execution_id)
        second.reattach(request.execution_id)
        result = second.wait(request.execution_id, timeout=60)
        assert result.state is ExecutionState.SUCCEEDED, result
        assert (request.output_dir / "model.bin").read_text() == "weights"
        assert list(second.logs(request.execution_id)) == ["started", "done"]
        assert second.find_running() == []
    finally:
        second.close()


def test_wait_on_a_closed_executor_says_so(docker_client: Any, make_request: RequestFactory) -> None:
    request = make_request("import time\ntime.sleep(120)\n", timeout_s=3.0)
    first = DockerExecutor(docker_client, node_id=NODE, poll_interval_s=0.2)
    first.start(request)
    threading.Timer(0.3, first.close).start()
    with pytest.raises(ExecutorError, match="reattach"):
        first.wait(request.execution_id)
    second = DockerExecutor(docker_client, node_id=NODE, poll_interval_s=0.2)
    second.reattach(request.execution_id)
    second.cancel(request.execution_id)
    assert second.wait(request.execution_id, timeout=30).state is ExecutionState.CANCELLED
    second.close()


def test_a_container_created_but_never_started_is_lost(
    docker_client: Any, make_request: RequestFactory, test_image: ImageRef
) -> None:
    """The node died between create and start: re-attaching reports it lost and removes it."""
    request = make_request("print('BREACH: started after all')")
    request.output_dir.mkdir()
    docker_client.containers.create(**container_options(request, image_id=test_image.digest, node_id=NODE))
    executor = DockerExecutor(docker_client, node_id=NODE, poll_interval_s=0.2)
    try:
        assert [found.status for found in executor.find_running()] == ["created"]
        executor.reattach(request.execution_id)
        result = executor.wait(request.execution_id, timeout=30)
        assert result.state is ExecutionState.LOST and "never started" in result.reason
        assert executor.find_running() == []
    finally:
        executor.close()


def test_reattached_execution_keeps_its_deadline(docker_client: Any, make_request: RequestFactory) -> None:
    request = make_request("import time\ntime.sleep(120)\n", timeout_s=2.0)
    first = DockerExecutor(docker_client, node_id=NODE, poll_interval_s=0.2)
    first.start(request)
    first.close()
    second = DockerExecutor(docker_client, node_id=NODE, poll_interval_s=0.2)
    try:
        began = time.monotonic()
        second.reattach(request.execution_id)
        result = second.wait(request.execution_id, timeout=60)
        assert result.state is ExecutionState.TIMED_OUT
        assert time.monotonic() - began < 10
    finally:
        second.close()


def test_containers_carry_job_and_execution_labels(
    executor: DockerExecutor, make_request: RequestFactory, docker_client: Any
) -> None:
    request = make_request("import time\ntime.sleep(30)\n")
    executor.start(request)
    try:
        (container,) = docker_client.containers.list(
            filters={"label": f"{LABEL_EXECUTION}={request.execution_id}"}
        )
        assert container.labels[LABEL_JOB] == "job-7"
        assert container.labels[LABEL_NODE] == NODE
        host = container.attrs["HostConfig"]
        assert host["NetworkMode"] == "none" and host["ReadonlyRootfs"] and host["Init"]
        assert host["CapDrop"] == ["ALL"] and host["SecurityOpt"] == ["no-new-privileges"]
        assert host["Memory"] == host["MemorySwap"] == 128 * MIB
        assert host["NanoCpus"] == 500_000_000 and host["PidsLimit"] == 64
        assert container.attrs["Config"]["User"] == "65534:65534"
    finally:
        executor.cancel(request.execution_id)
        executor.wait(request.execution_id, timeout=30)


def test_usage_falls_back_to_the_stats_api(docker_client: Any, test_image: ImageRef, tmp_path: Path) -> None:
    """Where the engine's cgroups are not visible (a node in a container, a remote engine)."""
    container = docker_client.containers.run(
        test_image.digest,
        [
            "python3",
            "-c",
            "import time\nend = time.process_time() + 1.0\nwhile time.process_time() < end: pass",
        ],
        detach=True,
        network_mode="none",
        labels={LABEL_NODE: NODE},
    )
    try:
        assert UsageSampler(container).source == "cgroup"  # this host shows them
        sampler = UsageSampler(container, cgroup_root=tmp_path)
        assert sampler.source == "stats-api"
        container.wait(timeout=30)
        sampler.stop()
        assert sampler.cpu_ns is not None and sampler.cpu_ns > 0
        assert sampler.peak_memory is not None and sampler.peak_memory > 0
    finally:
        container.remove(force=True)


class _SilentEngine:
    """A client whose engine has stopped answering: every call fails as a dead socket does.

    Stopping the shared engine of this machine to produce the fault for real is not an option.
    """

    def __init__(self, container: Any) -> None:
        self.containers = types.SimpleNamespace(list=lambda **_: [container])


class _SilentContainer:
    id = "f" * 64
    short_id = "ffffffffffff"
    status = "running"

    def __init__(self, output: Path) -> None:
        self.labels = {
            LABEL_EXECUTION: "silent-1",
            LABEL_JOB: "job-7",
            LABEL_NODE: NODE,
            "crowdcompute.timeout_s": "600",
            "crowdcompute.output_limit_bytes": "1000",
            "crowdcompute.output_max_files": "10",
        }
        self.attrs = {
            "Mounts": [{"Destination": "/output", "Source": str(output)}],
            "State": {"StartedAt": "2026-01-01T00:00:00.123456789Z"},
        }

    def _dead(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("connection refused")  # what requests raises: an OSError

    wait = reload = stats = logs = kill = remove = _dead


def test_an_engine_that_stops_answering_ends_the_execution_lost(tmp_path: Path) -> None:
    engine = _SilentEngine(_SilentContainer(tmp_path))
    executor = DockerExecutor(engine, node_id=NODE, poll_interval_s=0.05, engine_grace_s=0.5)
    executor.reattach(ExecutionId("silent-1"))
    result = executor.wait(ExecutionId("silent-1"), timeout=30)
    assert result.state is ExecutionState.LOST
    assert "stopped answering" in result.reason
    executor.close()


# -- the options, without the engine ---------------------------------------------------------------


def test_container_options_carry_every_hardening(make_offline_request: RequestFactory) -> None:
    request = make_offline_request("", cpus=2.5, memory_mib=512, gpus=0, env={"OMP_NUM_THREADS": "64"})
    options = container_options(request, image_id="sha256:" + "a" * 64, node_id="n1")
    assert options["image"] == "sha256:" + "a" * 64  # the exact image, never the tag
    assert options["network_mode"] == "none"
    assert options["read_only"] is True
    assert options["tmpfs"] == {"/tmp": f"rw,nosuid,nodev,size={16 * MIB},mode=1777"}
    assert options["mem_limit"] == options["memswap_limit"] == 512 * MIB
    assert options["nano_cpus"] == 2_500_000_000
    assert options["pids_limit"] == 64
    assert options["cap_drop"] == ["ALL"]
    assert options["security_opt"] == ["no-new-privileges"]
    assert options["user"] == "65534:65534"
    assert options["init"] is True
    assert "storage_opt" not in options  # overlay2 quotas need xfs; the executor caps output itself
    assert "device_requests" not in options
    assert options["environment"]["OMP_NUM_THREADS"] == "2"  # the limit wins over the job's wish
    assert options["environment"]["TORCH_NUM_THREADS"] == "2"
    mounts = {m["Target"]: m for m in options["mounts"]}
    assert mounts["/input"]["ReadOnly"] is True and mounts["/output"]["ReadOnly"] is False
    assert options["labels"][LABEL_JOB] == "job-7"
    assert options["labels"][LABEL_EXECUTION] == request.execution_id
    assert options["labels"][LABEL_NODE] == "n1"


def test_only_an_idle_priority_request_takes_the_lowest_cpu_weight(
    make_offline_request: RequestFactory,
) -> None:
    image = "sha256:" + "a" * 64
    assert container_options(make_offline_request(""), image_id=image)["cpu_shares"] == NORMAL_CPU_SHARES
    idle = make_offline_request("", idle_priority=True)
    assert container_options(idle, image_id=image)["cpu_shares"] == IDLE_CPU_SHARES < NORMAL_CPU_SHARES


def test_gpus_become_a_device_request_only_with_the_runtime(make_offline_request: RequestFactory) -> None:
    request = make_offline_request("", gpus=2)
    with pytest.raises(GpuUnavailable):
        container_options(request, image_id="sha256:" + "a" * 64)
    options = container_options(request, image_id="sha256:" + "a" * 64, gpu_runtime=True)
    (device,) = options["device_requests"]
    assert device["Count"] == 2 and device["Capabilities"] == [["gpu"]]
    pinned = make_offline_request("", gpus=2, gpu_devices=("1", "GPU-3f2a"))
    (device,) = container_options(pinned, image_id="sha256:" + "a" * 64, gpu_runtime=True)["device_requests"]
    assert device["DeviceIDs"] == ["1", "GPU-3f2a"] and not device["Count"]
    with pytest.raises(InvalidExecutionRequest, match="gpu_devices"):
        make_offline_request("", gpus=1, gpu_devices=("0", "1"))


# -- the image builder -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "planted",
    ["root/.bash_history", "home/alice/notes", "etc/shadow", "etc/ssh/ssh_host_rsa_key", "opt/id_ed25519"],
)
def test_builder_refuses_host_private_files(tmp_path: Path, planted: str) -> None:
    builder = load_builder()
    (tmp_path / "usr/local/bin").mkdir(parents=True)
    (tmp_path / "usr/local/bin/python3").write_text("")
    builder._check_nothing_private(tmp_path)  # a clean tree passes
    (tmp_path / planted).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / planted).write_text("secret")
    with pytest.raises(builder.BuildError, match="host-private"):
        builder._check_nothing_private(tmp_path)


# -- the real runtime image ------------------------------------------------------------------------


@pytest.mark.slow
def test_runtime_image_imports_torch_without_network_on_a_read_only_root(
    docker_client: Any, executor: DockerExecutor, make_request: RequestFactory
) -> None:
    image = build_runtime_image(docker_client)
    config = docker_client.images.get(image.digest).attrs["Config"]
    assert config["User"] == "65534:65534"
    request = make_request(
        """
        import os, torch, numpy
        torch.manual_seed(0)
        x = torch.randn(32, 32)
        print("torch", torch.__version__, "cuda", torch.version.cuda, "threads", torch.get_num_threads())
        print("root", sorted(os.listdir("/")))
        print("shadow", os.path.exists("/etc/shadow"))
        open("/var/tmp/planted", "w")  # world-writable in the image: only the read-only root refuses
        """,
        image=image,
        memory_mib=1024,
        cpus=1.0,
        timeout_s=120,
    )
    result = run(executor, request)
    lines = list(executor.logs(request.execution_id, follow=False))
    said = {line.split(" ", 1)[0]: line for line in lines}
    assert said.get("torch") == "torch 2.13.0+cpu cuda None threads 1", lines
    assert "'root'" not in said["root"] and "'home'" not in said["root"], lines
    assert said.get("shadow") == "shadow False", lines
    assert result.state is ExecutionState.FAILED and "Read-only file system" in result.reason, lines
