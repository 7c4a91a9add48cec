"""Replay, what validators run: segments recomputed from checkpoints reproduce the committed digests."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import torch

from sdk import (
    REPLAY_FILE,
    CheckpointEntry,
    JobEnv,
    ReplayRequest,
    load_checkpoint,
    replay_segments,
    save_checkpoint,
)
from tests.sdk.sdk_helpers import tiny_loop


@pytest.fixture
def provider_run(tmp_path: Path) -> tuple[Path, list[CheckpointEntry]]:
    out = tmp_path / "provider"
    return out, tiny_loop(total_steps=14, interval=4).train(out)  # segments 0..3, the last of 2 steps


def replay(
    request: ReplayRequest, out: Path, loop_threads: int = 1
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    document = replay_segments(tiny_loop(total_steps=14, interval=4, threads=loop_threads), request, out)
    assert json.loads((out / REPLAY_FILE).read_text()) == document
    return document, document["replays"]


def test_every_segment_replays_to_the_next_digest(
    tmp_path: Path, provider_run: tuple[Path, list[CheckpointEntry]]
) -> None:
    provider, entries = provider_run
    request = ReplayRequest(segments=(0, 1, 2, 3), checkpoint_dir=provider / "checkpoints")
    document, replays = replay(request, tmp_path / "validator")
    for index, entry in enumerate(replays):
        assert entry["segment"] == index
        assert entry["start_digest"] == entries[index].digest
        assert entry["digest"] == entries[index + 1].digest
        assert entry["claimed_digest"] == entries[index + 1].digest
        assert entry["distance"]["max_abs"] == 0.0 and entry["distance"]["rel_l2"] == 0.0
        assert (entry["start_step"], entry["step"]) == (entries[index].step, entries[index + 1].step)
    assert (document["total_steps"], document["checkpoint_interval"], document["checkpoints"]) == (14, 4, 5)
    assert sorted(os.listdir(tmp_path / "validator")) == [REPLAY_FILE]  # nothing heavy


def test_segments_replay_the_same_in_any_order_and_alone(
    tmp_path: Path, provider_run: tuple[Path, list[CheckpointEntry]]
) -> None:
    provider, entries = provider_run
    folder = provider / "checkpoints"
    _, backwards = replay(ReplayRequest(segments=(2, 0, 2), checkpoint_dir=folder), tmp_path / "a")
    assert [e["digest"] for e in backwards] == [entries[3].digest, entries[1].digest, entries[3].digest]


def test_init_reproduces_checkpoint_zero(
    tmp_path: Path, provider_run: tuple[Path, list[CheckpointEntry]]
) -> None:
    _, entries = provider_run
    _, replays = replay(ReplayRequest(segments=("init",)), tmp_path / "v")
    assert replays == [{"segment": "init", "step": 0, "digest": entries[0].digest}]


def test_final_checks_the_model_against_the_last_checkpoint(
    tmp_path: Path, provider_run: tuple[Path, list[CheckpointEntry]]
) -> None:
    provider, entries = provider_run
    folder = provider / "checkpoints"
    request = ReplayRequest(segments=("final",), checkpoint_dir=folder, model=provider / "model.pt")
    _, [entry] = replay(request, tmp_path / "ok")
    assert entry == {"segment": "final", "step": 14, "digest": entries[-1].digest, "model_matches": True}
    swapped = torch.load(provider / "model.pt", weights_only=True)
    swapped["3.bias"] += 1e-3
    torch.save(swapped, tmp_path / "other-model.pt")
    request = ReplayRequest(segments=("final",), checkpoint_dir=folder, model=tmp_path / "other-model.pt")
    assert replay(request, tmp_path / "bad")[1][0]["model_matches"] is False


def test_single_segment_variables_put_the_answer_at_the_top_level(
    tmp_path: Path, provider_run: tuple[Path, list[CheckpointEntry]]
) -> None:
    provider, entries = provider_run
    checkpoint = tmp_path / "mounted" / "c.pt"  # any name, any place: the digest is of the content
    checkpoint.parent.mkdir()
    checkpoint.write_bytes((provider / entries[2].file).read_bytes())
    env = JobEnv.from_environ(
        {
            "CROWDCOMPUTE_OUTPUT_DIR": str(tmp_path / "v"),
            "CROWDCOMPUTE_REPLAY_SEGMENT": "2",
            "CROWDCOMPUTE_REPLAY_CHECKPOINT": str(checkpoint),
        }
    )
    (tmp_path / "v").mkdir()
    tiny_loop(total_steps=14, interval=4).run(env)
    document = json.loads((tmp_path / "v" / REPLAY_FILE).read_text())
    assert (document["segment"], document["digest"]) == (2, entries[3].digest)
    assert "claimed_digest" not in document  # no folder, so no next checkpoint to compare with


def test_replay_uses_the_recorded_thread_count_not_the_sandboxes(tmp_path: Path) -> None:
    provider = tmp_path / "provider"
    entries = tiny_loop(total_steps=14, interval=4, threads=2).train(provider)
    request = ReplayRequest(segments=(1,), checkpoint_dir=provider / "checkpoints")
    _, [entry] = replay(request, tmp_path / "v", loop_threads=1)
    assert entry["threads"] == 2 and entry["digest"] == entries[2].digest
    assert torch.get_num_threads() == 2


def test_a_tampered_checkpoint_shows_in_start_digest(
    tmp_path: Path, provider_run: tuple[Path, list[CheckpointEntry]]
) -> None:
    provider, entries = provider_run
    checkpoint = load_checkpoint(provider / entries[1].file)
    checkpoint.state["model"]["0.weight"][0, 0] += 1e-6
    save_checkpoint(provider / entries[1].file, checkpoint.state, checkpoint.threads)
    _, [entry] = replay(ReplayRequest(segments=(1,), checkpoint_dir=provider / "checkpoints"), tmp_path / "v")
    assert entry["start_digest"] != entries[1].digest
    assert entry["digest"] != entries[2].digest


class _Exploit:
    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, ("touch /tmp/crowdcompute-sdk-test-pwned",))


def test_checkpoints_that_unpickle_code_are_refused_not_run(
    tmp_path: Path, provider_run: tuple[Path, list[CheckpointEntry]]
) -> None:
    provider, entries = provider_run
    marker = Path("/tmp/crowdcompute-sdk-test-pwned")
    marker.unlink(missing_ok=True)
    state = load_checkpoint(provider / entries[1].file).state
    torch.save({**state, "threads": 1, "step": _Exploit()}, provider / entries[1].file)
    _, [entry] = replay(ReplayRequest(segments=(1,), checkpoint_dir=provider / "checkpoints"), tmp_path / "v")
    assert "cannot read checkpoint" in entry["error"]
    assert not marker.exists()


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (ReplayRequest(segments=(4,), checkpoint_dir=Path("/nowhere")), "segment 4 does not exist"),
        (ReplayRequest(segments=(1,), checkpoint_dir=Path("/nowhere")), "no checkpoint file"),
        (ReplayRequest(segments=(1,)), "no checkpoint folder"),
        (ReplayRequest(segments=("final",), checkpoint_dir=Path("/nowhere")), "no checkpoint file"),
    ],
)
def test_what_cannot_be_replayed_is_reported_per_segment(
    tmp_path: Path, request_: ReplayRequest, message: str
) -> None:
    _, [entry] = replay(request_, tmp_path)
    assert message in entry["error"] and "digest" not in entry


def test_a_checkpoint_of_the_wrong_step_is_refused(
    tmp_path: Path, provider_run: tuple[Path, list[CheckpointEntry]]
) -> None:
    provider, _ = provider_run
    folder = provider / "checkpoints"
    (folder / "ckpt_1.pt").write_bytes((folder / "ckpt_2.pt").read_bytes())
    _, [entry] = replay(ReplayRequest(segments=(1,), checkpoint_dir=folder), tmp_path / "v")
    assert "is at step 8, not 4" in entry["error"]
