"""A warm replay's CPU weight, without the engine: it is lifted to the normal weight at its go, after the go
is written (the replay never waits for it), and a failure to lift it does not cost the verdict.

That the waiting container really runs at the lowest weight is shown against the engine in
`tests/validator/test_warm_replays.py` and `tests/jobs/test_executor_docker.py`.
"""

from __future__ import annotations

import time
from pathlib import Path

from chain import JobId
from jobs.bundle import BundleCache
from jobs.executors import ExecutionId, ExecutionRequest, ExecutorError, ImageRef, Prioritizing
from jobs.executors.noop import NoopExecutor
from jobs.store import EmbeddedStore
from validator.reexecute import REPLAY_DIR
from validator.warm import GO_FILE, WarmPool, WarmReplay

IMAGE = ImageRef("crowdcompute/runtime-cpu:test", "sha256:" + "b" * 64)


class RecordingExecutor(NoopExecutor):
    """A no-op executor that can prioritize, noting whether the go was written when it was asked."""

    def __init__(self, *, fails: bool = False) -> None:
        super().__init__()
        self.fails = fails
        self.prioritized: list[tuple[ExecutionId, bool]] = []
        self.go: Path | None = None

    def prioritize(self, execution_id: ExecutionId) -> None:
        self.prioritized.append((execution_id, self.go is not None and self.go.is_file()))
        if self.fails:
            raise ExecutorError("the engine is gone")


def waiting_replay(executor: RecordingExecutor, tmp_path: Path) -> tuple[WarmPool, WarmReplay]:
    pool = WarmPool(
        executor,
        BundleCache(EmbeddedStore(tmp_path / "store"), tmp_path / "bundles"),
        "0xab",
        lambda j, a: tmp_path,
    )
    (tmp_path / "input" / REPLAY_DIR).mkdir(parents=True)
    (tmp_path / "output").mkdir()
    execution_id = ExecutionId("warm-3-0-0xab")
    executor.start(
        ExecutionRequest(
            execution_id=execution_id,
            job_id="3",
            image=IMAGE,
            argv=("python3", "train.py"),
            input_dir=tmp_path / "input",
            output_dir=tmp_path / "output",
            idle_priority=True,
        )
    )
    executor.go = tmp_path / "input" / REPLAY_DIR / GO_FILE
    warm = WarmReplay(JobId(3), 0, execution_id, tmp_path / "input", tmp_path / "output", time.monotonic())
    return pool, warm


def test_warm_replay_gets_the_normal_weight_once_its_go_is_written(tmp_path: Path) -> None:
    executor = RecordingExecutor()
    assert isinstance(executor, Prioritizing)
    pool, warm = waiting_replay(executor, tmp_path)
    replay = pool.run(warm, [], {"CROWDCOMPUTE_REPLAY_SEGMENTS": "init,4,final"})
    assert replay.result.ok
    assert executor.prioritized == [(warm.execution_id, True)], "lifted once, after the go"


def test_warm_replay_runs_on_when_its_weight_cannot_be_lifted(tmp_path: Path) -> None:
    executor = RecordingExecutor(fails=True)
    pool, warm = waiting_replay(executor, tmp_path)
    replay = pool.run(warm, [], {})
    assert replay.result.ok and executor.prioritized == [(warm.execution_id, True)]
    assert pool.used == [warm.execution_id]
