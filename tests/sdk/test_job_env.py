"""What the SDK reads from the sandbox: folders, threads, the replay variables, the job's schedule."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdk import ConfigError, JobEnv, ReplayError, ReplayRequest, job_schedule, thread_count


def test_defaults_are_the_container_mounts() -> None:
    env = JobEnv.from_environ({"TORCH_NUM_THREADS": "3"})
    assert (env.input_dir, env.output_dir, env.tmp_dir) == (Path("/input"), Path("/output"), Path("/tmp"))
    assert env.threads == 3 and env.replay is None


def test_threads_come_from_the_executors_variables_first() -> None:
    assert thread_count({"TORCH_NUM_THREADS": "2", "OMP_NUM_THREADS": "5"}) == 2
    assert thread_count({"OMP_NUM_THREADS": "5"}) == 5
    assert thread_count({"TORCH_NUM_THREADS": "zero"}) >= 1  # unusable: falls back to the CPU limit


def test_many_segments_in_one_process() -> None:
    replay = JobEnv.from_environ(
        {
            "CROWDCOMPUTE_REPLAY_SEGMENTS": "init, 3,17 ,final",
            "CROWDCOMPUTE_REPLAY_CHECKPOINT_DIR": "/input/checkpoints",
            "CROWDCOMPUTE_REPLAY_MODEL": "/input/model.pt",
        }
    ).replay
    assert replay == ReplayRequest(
        segments=("init", 3, 17, "final"),
        checkpoint_dir=Path("/input/checkpoints"),
        model=Path("/input/model.pt"),
    )


def test_one_segment_with_its_checkpoint_file() -> None:
    replay = JobEnv.from_environ(
        {"CROWDCOMPUTE_REPLAY_SEGMENT": "7", "CROWDCOMPUTE_REPLAY_CHECKPOINT": "/input/c7.pt"}
    ).replay
    assert replay == ReplayRequest(segments=(7,), checkpoint=Path("/input/c7.pt"), single=True)
    assert JobEnv.from_environ({"CROWDCOMPUTE_REPLAY_SEGMENT": "INIT"}).replay == ReplayRequest(
        segments=("init",), single=True
    )


def test_shards() -> None:
    replay = JobEnv.from_environ({"CROWDCOMPUTE_REPLAY_SHARDS": "2,5"}).replay
    assert replay == ReplayRequest(shards=(2, 5))


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"CROWDCOMPUTE_REPLAY_SEGMENTS": "1", "CROWDCOMPUTE_REPLAY_SEGMENT": "2"}, "only one of"),
        ({"CROWDCOMPUTE_REPLAY_SEGMENTS": " , "}, "names nothing"),
        ({"CROWDCOMPUTE_REPLAY_SEGMENTS": "1,-2"}, "not an index"),
        ({"CROWDCOMPUTE_REPLAY_SEGMENT": "last"}, "not an index"),
        ({"CROWDCOMPUTE_REPLAY_SHARDS": "1,init"}, "shard indices"),
    ],
)
def test_bad_replay_variables_are_refused(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ReplayError, match=message):
        JobEnv.from_environ(environ)


def test_schedule_comes_from_job_toml(tmp_path: Path) -> None:
    (tmp_path / "job.toml").write_text(
        '[verification]\nmode = "segments"\ncheckpoint_interval = 25\nsegments = 8\n'
    )
    schedule = job_schedule(tmp_path)
    assert (schedule.checkpoint_interval, schedule.segments, schedule.total_steps) == (25, 8, 200)


@pytest.mark.parametrize(
    "text",
    ["", '[verification]\nmode = "segments"\ncheckpoint_interval = 25\n', "[verification]\nsegments = 0\n"],
)
def test_a_manifest_without_a_schedule_is_refused(tmp_path: Path, text: str) -> None:
    (tmp_path / "job.toml").write_text(text)
    with pytest.raises(ConfigError):
        job_schedule(tmp_path)
