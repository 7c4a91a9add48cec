"""Executor doubles for the daemon's logic tests (no Docker)."""

from __future__ import annotations

import threading
from pathlib import Path

from jobs.executors import ExecutionId, ExecutionRequest, ExecutionResult, WaitTimeout
from jobs.executors.base import LogCallback
from jobs.executors.noop import NoopExecutor


class GatedExecutor(NoopExecutor):
    """A no-op executor whose executions only end once `release()` is called (to hold a job slot)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.gate = threading.Event()

    def release(self) -> None:
        self.gate.set()

    def wait(self, execution_id: ExecutionId, timeout: float | None = None) -> ExecutionResult:
        if not self.gate.wait(timeout):
            raise WaitTimeout(f"execution {execution_id} is held")
        return super().wait(execution_id, timeout)


class NestedOutputExecutor(NoopExecutor):
    """A no-op executor that writes files below folders of the output (checkpoints/manifest.json ...)."""

    def __init__(self, files: dict[str, bytes], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.files = files

    def start(self, request: ExecutionRequest, *, on_log: LogCallback | None = None) -> None:
        for name, data in self.files.items():
            path = request.output_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        super().start(request, on_log=on_log)


class SymlinkOutputExecutor(NoopExecutor):
    """A no-op executor whose "job" leaves `link` in its output pointing at `target` on the host."""

    def __init__(self, link: str, target: Path, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.link, self.target = link, target

    def start(self, request: ExecutionRequest, *, on_log: LogCallback | None = None) -> None:
        (request.output_dir / self.link).symlink_to(self.target)
        super().start(request, on_log=on_log)
