"""The canonical state digest: independent of how a checkpoint is stored, sensitive to every bit of it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from sdk import DigestError, canonical_bytes, load_checkpoint, save_checkpoint, state_digest
from tests.sdk.sdk_helpers import tiny_loop


@pytest.fixture
def trained_state() -> dict[str, Any]:
    """The tiny loop's state after a few steps: momentum buffers, scheduler and RNG all non-trivial."""
    loop = tiny_loop()
    live = loop.initialise()
    loop.run_until(live, 6)
    return live.capture()


def test_digest_is_the_same_wherever_and_however_the_checkpoint_is_stored(
    tmp_path: Path, trained_state: dict[str, Any]
) -> None:
    first, second = tmp_path / "ckpt_3.pt", tmp_path / "elsewhere" / "renamed-checkpoint.pt"
    save_checkpoint(first, trained_state, threads=1)
    save_checkpoint(second, trained_state, threads=1)
    moved = tmp_path / "moved.pt"
    shutil.copy(first, moved)
    assert first.read_bytes() != second.read_bytes()  # the zip layout records the file name
    digests = {state_digest(load_checkpoint(path).state) for path in (first, second, moved)}
    assert digests == {state_digest(trained_state)}


def test_digest_ignores_dict_insertion_order() -> None:
    tensor = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    assert state_digest({"a": tensor, "b": 1}) == state_digest({"b": 1, "a": tensor.clone()})


def test_one_ulp_in_one_weight_changes_the_digest(trained_state: dict[str, Any]) -> None:
    before = state_digest(trained_state)
    weight = trained_state["model"]["0.weight"]
    weight[1, 2] = torch.nextafter(weight[1, 2], torch.tensor(float("inf")))
    assert state_digest(trained_state) != before


def test_optimizer_step_count_changes_the_digest() -> None:
    live = tiny_loop().initialise()
    adam = torch.optim.Adam(live.model.parameters())
    live.model(torch.ones(2, 5)).sum().backward()
    adam.step()
    state = adam.state_dict()
    before = state_digest(state)
    state["state"][0]["step"] += 1
    assert state_digest(state) != before


def test_rng_state_changes_the_digest(trained_state: dict[str, Any]) -> None:
    before = state_digest(trained_state)
    trained_state["rng"]["torch"] = torch.Generator().manual_seed(99).get_state()
    assert state_digest(trained_state) != before
    trained_state["rng"]["torch"] = torch.get_rng_state()
    python_state = trained_state["rng"]["python"]["internal"]
    python_state[5] += 1
    assert state_digest(trained_state) != before


def test_step_and_scheduler_are_covered(trained_state: dict[str, Any]) -> None:
    before = state_digest(trained_state)
    assert state_digest({**trained_state, "step": trained_state["step"] + 1}) != before
    scheduler = dict(trained_state["scheduler"], last_epoch=trained_state["scheduler"]["last_epoch"] + 1)
    assert state_digest({**trained_state, "scheduler": scheduler}) != before


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (1, 1.0),
        (1, True),
        ([1, 2], (1, 2)),
        ("1", b"1"),
        (None, 0),
        (torch.zeros(2, dtype=torch.float32), torch.zeros(2, dtype=torch.int32)),
        (torch.zeros(2, 3), torch.zeros(3, 2)),
        (torch.zeros(6), torch.zeros(2, 3)),
        (np.zeros(2, dtype=np.float32), torch.zeros(2)),
        ({"a": 1}, {"a": 1, "b": None}),
        (0.0, -0.0),
    ],
)
def test_different_values_encode_differently(left: Any, right: Any) -> None:
    assert canonical_bytes(left) != canonical_bytes(right)
    assert state_digest(left) != state_digest(right)


def test_views_and_noncontiguous_tensors_encode_their_values() -> None:
    base = torch.arange(12, dtype=torch.float64).reshape(3, 4)
    assert state_digest(base.t()) == state_digest(base.t().contiguous())
    assert state_digest(base[:, 1]) == state_digest(torch.tensor([1.0, 5.0, 9.0], dtype=torch.float64))


def test_encoding_is_pinned() -> None:
    """The byte layout is a protocol: providers and validators on different SDK versions must agree."""
    state = {"step": 3, "w": torch.tensor([1.5, -2.0]), "name": "x", "lr": 0.5, "flags": (True, None)}
    assert canonical_bytes(state).hex() == (
        "640500000000000000"
        "73050000000000000066"
        "6c616773"
        "74020000000000000062016e"
        "7302000000000000006c72"
        "66000000000000e03f"
        "7304000000000000006e616d65"
        "73010000000000000078"
        "73040000000000000073746570"
        "69010000000000000003"
        "730100000000000000"
        "77"
        "540d00000000000000746f7263682e666c6f61743332"
        "01000000000000000200000000000000"
        "0800000000000000"
        "0000c03f000000c0"
    )
    assert state_digest(state) == "181d167e177d19d804a6d74515f466be9f13ed79b2002e799fde35357fb4f70f"


def test_values_without_a_rule_are_refused() -> None:
    with pytest.raises(DigestError, match="no canonical encoding"):
        state_digest({"callback": print})
    with pytest.raises(DigestError, match="all str or all int"):
        state_digest({1: "a", "b": 2})
    with pytest.raises(DigestError, match="layout"):
        state_digest(torch.eye(3).to_sparse())
