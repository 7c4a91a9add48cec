"""A validator's replay inside the real runtime image reproduces, bit for bit, digests trained on the host.

The image is the CPU torch runtime built offline by runtime/build_offline.py (which copies `sdk/` into
it, and rebuilds when `sdk/` changed), run by the production Docker executor with every hardening on.
The validator's single read-only input is the job bundle plus the sampled checkpoints under replay/.
The engine comes from tools/ensure-docker.sh; when none can be had this test fails, never skips.
"""

from __future__ import annotations

import importlib
import json
import shutil
import uuid
from pathlib import Path
from types import ModuleType

import docker
import pytest

from jobs.executors import ExecutionId, ExecutionRequest, ExecutionState
from jobs.executors.docker import LABEL_NODE, DockerExecutor
from tests.sdk.sdk_helpers import example_copy, manifest_digests, run_script

pytestmark = pytest.mark.docker  # builds the runtime image and runs it without a fixture


def executor_images() -> ModuleType:
    """tests/jobs/executor_images.py: how the executor tests get an engine and the runtime image."""
    return importlib.import_module("tests.jobs.executor_images")


@pytest.mark.slow
def test_digits_replay_in_the_runtime_image_matches_host_training(tmp_path: Path) -> None:
    images = executor_images()
    images.ensure_docker()
    client = docker.from_env(timeout=900)
    node = f"pytest-sdk-{uuid.uuid4().hex[:8]}"
    executor = DockerExecutor(client, node_id=node, poll_interval_s=0.2)
    try:
        image = images.build_runtime_image(client)
        job = example_copy("digits_mlp", tmp_path / "job", interval=20, segments=10)
        provider = tmp_path / "provider"
        run_script(job, "train.py", provider)  # on the host
        digests = manifest_digests(provider)

        staged = tmp_path / "input"
        shutil.copytree(job, staged)
        (staged / "replay").mkdir()
        for name in ("checkpoints/ckpt_3.pt", "checkpoints/ckpt_4.pt", "checkpoints/ckpt_10.pt", "model.pt"):
            shutil.copy(provider / name, staged / "replay")
        request = ExecutionRequest(
            execution_id=ExecutionId(f"sdk-replay-{uuid.uuid4().hex[:10]}"),
            job_id="sdk-replay",
            image=image,
            argv=("python3", "train.py"),
            input_dir=staged,
            output_dir=tmp_path / "validator",
            env={
                "CROWDCOMPUTE_REPLAY_SEGMENTS": "init,3,final",
                "CROWDCOMPUTE_REPLAY_CHECKPOINT_DIR": "/input/replay",
                "CROWDCOMPUTE_REPLAY_MODEL": "/input/replay/model.pt",
            },
            cpus=1.0,
            memory_mib=1024,
            timeout_s=300.0,
        )
        executor.start(request)
        result = executor.wait(request.execution_id, timeout=320)
        logs = list(executor.logs(request.execution_id, follow=False))
        assert result.state is ExecutionState.SUCCEEDED, (result.reason, logs[-20:])

        init, three, final = json.loads((tmp_path / "validator" / "replay.json").read_text())["replays"]
        assert init["digest"] == digests[0]
        assert (three["start_digest"], three["digest"], three["claimed_digest"]) == (
            digests[3],
            digests[4],
            digests[4],
        )
        assert final["digest"] == digests[10] and final["model_matches"] is True
        assert sorted(p.name for p in (tmp_path / "validator").iterdir()) == ["replay.json"]
        assert any('"event":"replay"' in line for line in logs)
    finally:
        executor.close()
        for container in client.containers.list(all=True, filters={"label": f"{LABEL_NODE}={node}"}):
            container.remove(force=True)
        client.close()
