"""Replay: what a validator runs to recompute sampled digests of a provider's training run.

The validator runs the job's own script with the replay variables of `sdk.env` set; the script calls
`TrainingLoop.run()`, which lands here instead of training. Every requested segment is recomputed in the
same process (one torch import for all of them) and the answers go to `<output>/replay.json`:

    {"replays": [
       {"segment": "init", "step": 0, "digest": d_0},
       {"segment": 3, "start_step": 240, "step": 320, "start_digest": d_3', "digest": d_4'},
       {"segment": "final", "step": 20000, "digest": d_n', "model_matches": true},
       {"segment": 9, "error": "no checkpoint file at /input/ckpts/ckpt_9.pt"}],
     "total_steps": 20000, "checkpoint_interval": 80, "checkpoints": 251}

For segment i the validator accepts when `start_digest == d_i` (the checkpoint it was given is the
committed one) and `digest == d_{i+1}`; with a tolerance (GPU jobs), when `claimed_digest == d_{i+1}`
and `distance` (replayed model vs the provider's checkpoint i+1, present when that file is in the
checkpoint folder) is within it. An entry with "error" is a checkpoint the provider's output could not
supply. Each segment runs on the thread count its checkpoint records (results depend on it), whatever
the sandbox's CPU limit. With CROWDCOMPUTE_REPLAY_SEGMENT (one segment) the entry's keys are also at
the top level. Nothing but replay.json is written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from sdk.checkpoint import checkpoint_file, load_checkpoint, write_json
from sdk.digest import state_digest
from sdk.distance import state_distance
from sdk.env import ReplayRequest, Segment
from sdk.errors import CheckpointError, ReplayError, StateMismatchError
from sdk.metrics import emit

if TYPE_CHECKING:
    from sdk.loop import TrainingLoop

__all__ = ["REPLAY_FILE", "replay_segment", "replay_segments"]

REPLAY_FILE = "replay.json"


def _checkpoint_path(request: ReplayRequest, index: int) -> Path:
    if request.single and request.checkpoint is not None:
        return request.checkpoint
    if request.checkpoint_dir is None:
        raise ReplayError(f"no checkpoint folder given for checkpoint {index}")
    return request.checkpoint_dir / Path(checkpoint_file(index)).name


def _load_model_file(path: Path) -> dict[str, Any]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, ValueError) as exc:
        raise CheckpointError(f"cannot read the final model {path.name}: {exc}") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path.name} does not hold a state dict")
    return state


def _replay_init(loop: TrainingLoop) -> dict[str, Any]:
    return {"segment": "init", "step": 0, "digest": loop.initialise().digest()}


def _replay_final(loop: TrainingLoop, request: ReplayRequest) -> dict[str, Any]:
    index = loop.segment_count
    live = loop.restore(load_checkpoint(_checkpoint_path(request, index)))
    if live.step != loop.total_steps:
        raise CheckpointError(f"checkpoint {index} is at step {live.step}, not {loop.total_steps}")
    entry: dict[str, Any] = {"segment": "final", "step": live.step, "digest": live.digest()}
    if request.model is None:
        raise ReplayError("'final' needs CROWDCOMPUTE_REPLAY_MODEL, the provider's model.pt")
    model = _load_model_file(request.model)
    entry["model_matches"] = state_digest(model) == state_digest(live.model.state_dict())
    return entry


def replay_segment(loop: TrainingLoop, index: int, request: ReplayRequest) -> dict[str, Any]:
    """Recompute segment `index` from the provider's checkpoint `index`."""
    if not 0 <= index < loop.segment_count:
        raise ReplayError(f"segment {index} does not exist; the run has {loop.segment_count}")
    start, end = loop.checkpoint_step(index), loop.checkpoint_step(index + 1)
    live = loop.restore(load_checkpoint(_checkpoint_path(request, index)))
    if live.step != start:
        raise CheckpointError(f"checkpoint {index} is at step {live.step}, not {start}")
    entry: dict[str, Any] = {"segment": index, "start_step": start, "step": end, "threads": live.threads}
    entry["start_digest"] = live.digest()
    loop.run_until(live, end)
    replayed = live.capture()
    entry["digest"] = state_digest(replayed)
    following = (
        request.checkpoint_dir / Path(checkpoint_file(index + 1)).name if request.checkpoint_dir else None
    )
    if following is not None and following.is_file():
        claimed = loop.restore(load_checkpoint(following))
        entry["claimed_digest"] = claimed.digest()
        try:
            entry["distance"] = state_distance(replayed["model"], claimed.model.state_dict()).to_json()
        except StateMismatchError as exc:
            entry["distance"] = {"error": str(exc)}
    return entry


def _replay(loop: TrainingLoop, segment: Segment, request: ReplayRequest) -> dict[str, Any]:
    try:
        if segment == "init":
            return _replay_init(loop)
        if segment == "final":
            return _replay_final(loop, request)
        return replay_segment(loop, segment, request)
    except (CheckpointError, ReplayError) as exc:
        return {"segment": segment, "error": str(exc)}


def replay_segments(
    loop: TrainingLoop, request: ReplayRequest, output_dir: str | os.PathLike[str]
) -> dict[str, Any]:
    """Recompute every segment `request` names and write `replay.json`; returns what it wrote."""
    if request.shards:
        raise ReplayError("this job trains in segments; CROWDCOMPUTE_REPLAY_SHARDS does not apply")
    entries = []
    for segment in request.segments:
        entry = _replay(loop, segment, request)
        emit("replay", **{key: value for key, value in entry.items() if key != "distance"})
        entries.append(entry)
    document: dict[str, Any] = {
        "replays": entries,
        "total_steps": loop.total_steps,
        "checkpoint_interval": loop.checkpoint_interval,
        "checkpoints": loop.segment_count + 1,
    }
    if request.single:
        document.update(entries[0])
    write_json(Path(output_dir) / REPLAY_FILE, document)
    return document
