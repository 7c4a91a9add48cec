"""Sharded jobs (one committed leaf per shard, replayed one shard at a time) and the distance helper."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch

from jobs.commitments import checkpoint_commitment, merkle_root
from sdk import (
    ConfigError,
    JobEnv,
    ReplayError,
    ShardedJob,
    StateMismatchError,
    state_digest,
    state_distance,
    within_tolerance,
)


def score(index: int, generator: torch.Generator) -> dict[str, Any]:
    """A shard's work: random projections, drawn from the shard's generator and the global one."""
    projection = torch.randn(16, 4, generator=generator)
    return {"shard": index, "features": torch.rand(8, 16) @ projection}


def test_shards_commit_one_leaf_each_and_replay_alone(tmp_path: Path) -> None:
    job = ShardedJob(work=score, count=5, seed=9)
    entries = job.run_all(tmp_path / "provider")
    assert [e["file"] for e in entries] == [f"shards/shard_{j}.pt" for j in range(5)]
    for entry in entries:
        output = torch.load(tmp_path / "provider" / entry["file"], weights_only=True)
        assert state_digest(output) == entry["digest"]
    commitment = checkpoint_commitment(tmp_path / "provider")
    assert commitment.count == 5
    assert commitment.root == merkle_root([bytes.fromhex(e["digest"]) for e in entries])

    out = tmp_path / "validator"
    out.mkdir()
    job.run(JobEnv.from_environ({"CROWDCOMPUTE_OUTPUT_DIR": str(out), "CROWDCOMPUTE_REPLAY_SHARDS": "3,0,7"}))
    document = json.loads((out / "replay.json").read_text())
    assert document["shards"] == 5
    assert document["replays"][:2] == [
        {"shard": 3, "digest": entries[3]["digest"]},
        {"shard": 0, "digest": entries[0]["digest"]},
    ]
    assert "does not exist" in document["replays"][2]["error"]
    assert len({e["digest"] for e in entries}) == 5


def test_shard_jobs_refuse_segment_replays_and_empty_jobs(tmp_path: Path) -> None:
    env = JobEnv.from_environ({"CROWDCOMPUTE_OUTPUT_DIR": str(tmp_path), "CROWDCOMPUTE_REPLAY_SEGMENTS": "1"})
    with pytest.raises(ReplayError, match="CROWDCOMPUTE_REPLAY_SHARDS"):
        ShardedJob(work=score, count=2).run(env)
    with pytest.raises(ConfigError):
        ShardedJob(work=score, count=0)


def _state(scale: float = 1.0) -> dict[str, Any]:
    return {"w": torch.tensor([3.0, 4.0]) * scale, "b": torch.zeros(2), "step": 10, "ids": torch.arange(3)}


def test_identical_states_are_at_distance_zero() -> None:
    distance = state_distance(_state(), _state())
    assert (distance.max_abs, distance.rel_l2, distance.elements) == (0.0, 0.0, 4)


def test_distance_measures_float_tensors_as_one_vector() -> None:
    near = _state()
    near["w"] = torch.tensor([3.0, 4.5])
    distance = state_distance(near, _state())
    assert distance.max_abs == pytest.approx(0.5)
    assert distance.rel_l2 == pytest.approx(0.5 / 5.0)
    assert within_tolerance(near, _state(), 0.11)
    assert not within_tolerance(near, _state(), 0.09)
    assert within_tolerance(near, _state(), 0.5, metric="max_abs")


def test_anything_but_floats_must_match_exactly() -> None:
    other = _state()
    other["step"] = 11
    assert math.isinf(state_distance(other, _state()).rel_l2)
    other = _state()
    other["ids"] = torch.tensor([0, 1, 5])
    assert not within_tolerance(other, _state(), 1e9)


def test_nan_is_infinitely_far() -> None:
    broken = _state()
    broken["w"] = torch.tensor([float("nan"), 4.0])
    assert math.isinf(state_distance(broken, _state()).max_abs)
    assert state_distance(broken, _state()).to_json()["rel_l2"] is None


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.pop("b"),
        lambda s: s.update(w=torch.zeros(3)),
        lambda s: s.update(w=torch.zeros(2, dtype=torch.float64)),
        lambda s: s.update(step=torch.tensor(10)),
    ],
)
def test_different_structures_have_no_distance(change: Any) -> None:
    other = _state()
    change(other)
    with pytest.raises(StateMismatchError):
        state_distance(other, _state())
    assert not within_tolerance(other, _state(), math.inf)


def test_model_states_compare_directly() -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 2)
    reference = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model.weight.add_(1e-7)
    assert within_tolerance(model.state_dict(), reference, 1e-5)
    assert not within_tolerance(model.state_dict(), reference, 0.0)
