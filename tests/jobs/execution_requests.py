"""Execution requests for the executor tests: small limits, a script as /input/job.py, any image."""

from __future__ import annotations

import itertools
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jobs.executors import ExecutionId, ExecutionRequest, ExecutionResult, Executor, ImageRef
from jobs.executors.base import MIB

RequestFactory = Callable[..., ExecutionRequest]

# An image no engine is asked about: the local and no-op executors, and the options built for the engine.
STAND_IN_IMAGE = ImageRef("crowdcompute-test:stand-in", "sha256:" + "0" * 64)


def request_factory(tmp_path: Path, image: ImageRef) -> RequestFactory:
    """`make(script, input_mode=0o755, **overrides)`: a request running `script` as /input/job.py."""
    counter = itertools.count()

    def make(script: str, input_mode: int = 0o755, **overrides: Any) -> ExecutionRequest:
        n = next(counter)
        input_dir = tmp_path / f"input-{n}"
        input_dir.mkdir()
        input_dir.chmod(input_mode)
        (input_dir / "job.py").write_text(textwrap.dedent(script))
        values: dict[str, Any] = {
            "execution_id": ExecutionId(f"t{n}-{uuid.uuid4().hex[:10]}"),
            "job_id": "job-7",
            "image": image,
            "argv": ("python3", "/input/job.py"),
            "input_dir": input_dir,
            "output_dir": tmp_path / f"output-{n}",
            "cpus": 0.5,
            "memory_mib": 128,
            "pids": 64,
            "tmp_limit_bytes": 16 * MIB,
            "output_limit_bytes": 8 * MIB,
            "output_max_files": 1000,
            "timeout_s": 30.0,
        }
        values.update(overrides)
        return ExecutionRequest(**values)

    return make


def run(executor: Executor, request: ExecutionRequest) -> ExecutionResult:
    executor.start(request)
    return executor.wait(request.execution_id, timeout=120)
