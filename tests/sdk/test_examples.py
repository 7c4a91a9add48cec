"""The examples end to end on the host, at reduced steps: train, evaluate, and replay as a validator would.

Thresholds were measured: digits reaches 0.955 test accuracy after 200 steps (0.978 at the full
80,000), the LSTM a skill of 0.47 over the naive forecast after 200 steps.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from jobs.commitments import checkpoint_commitment
from jobs.manifest import load_manifest
from tests.sdk.sdk_helpers import EXAMPLES, REPO, example_copy, manifest_digests, run_script


@pytest.mark.parametrize("name", ["digits_mlp", "lstm_series"])
def test_example_manifests_are_valid_and_sampled_cheaply(name: str) -> None:
    manifest = load_manifest(EXAMPLES / name)
    verification = manifest.verification
    assert verification.mode == "segments" and manifest.resources.gpus == 0
    assert verification.segments is not None and verification.segments >= 200
    assert verification.samples_per_validator is not None
    sampled = verification.committee_size * verification.samples_per_validator
    assert sampled / verification.segments <= 0.10  # segment compute re-executed, startup aside
    assert manifest.runtime.image == "crowdcompute/runtime-cpu:torch2.13"


def test_pin_runtime_writes_a_pinned_copy(tmp_path: Path) -> None:
    digest = "sha256:" + "ab" * 32
    subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / "pin_runtime.py"),
            str(EXAMPLES / "digits_mlp"),
            str(tmp_path / "job"),
            "--digest",
            digest,
        ],
        check=True,
        capture_output=True,
    )
    assert load_manifest(tmp_path / "job").runtime.digest == digest
    assert (tmp_path / "job" / "data" / "digits.npz").read_bytes() == (
        EXAMPLES / "digits_mlp" / "data" / "digits.npz"
    ).read_bytes()


def test_digits_data_is_split_by_class() -> None:
    with np.load(EXAMPLES / "digits_mlp" / "data" / "digits.npz") as data:
        assert data["train_images"].shape == (1438, 64) and data["test_images"].shape == (359, 64)
        assert data["train_images"].max() == 16
        assert np.bincount(data["test_labels"]).min() >= 35


def test_digits_trains_evaluates_and_replays(tmp_path: Path) -> None:
    job = example_copy("digits_mlp", tmp_path / "job", interval=20, segments=10)
    out = tmp_path / "out"
    lines = run_script(job, "train.py", out)
    metrics = [line for line in lines if line["event"] == "metrics"]
    assert len(metrics) == 10 and metrics[-1]["loss"] < metrics[0]["loss"]
    digests = manifest_digests(out)
    assert checkpoint_commitment(out).count == len(digests) == 11

    [evaluation] = run_script(job, "evaluate.py", tmp_path / "unused", str(out))
    assert evaluation["accuracy"] > 0.9

    replay_out = tmp_path / "replay"
    run_script(
        job,
        "train.py",
        replay_out,
        CROWDCOMPUTE_REPLAY_SEGMENTS="init,2,7,final",
        CROWDCOMPUTE_REPLAY_CHECKPOINT_DIR=str(out / "checkpoints"),
        CROWDCOMPUTE_REPLAY_MODEL=str(out / "model.pt"),
    )
    init, two, seven, final = json.loads((replay_out / "replay.json").read_text())["replays"]
    assert init["digest"] == digests[0]
    assert (two["start_digest"], two["digest"]) == (digests[2], digests[3])
    assert (seven["start_digest"], seven["digest"]) == (digests[7], digests[8])
    assert final["digest"] == digests[10] and final["model_matches"] is True


def test_lstm_trains_evaluates_and_replays_one_segment(tmp_path: Path) -> None:
    job = example_copy("lstm_series", tmp_path / "job", interval=20, segments=10)
    out = tmp_path / "out"
    run_script(job, "train.py", out)
    digests = manifest_digests(out)
    [evaluation] = run_script(job, "evaluate.py", tmp_path / "unused", str(out))
    assert evaluation["skill"] > 0.3 and evaluation["mse"] < evaluation["naive_mse"]

    run_script(
        job,
        "train.py",
        tmp_path / "replay",
        CROWDCOMPUTE_REPLAY_SEGMENT="5",
        CROWDCOMPUTE_REPLAY_CHECKPOINT=str(out / "checkpoints" / "ckpt_5.pt"),
    )
    answer = json.loads((tmp_path / "replay" / "replay.json").read_text())
    assert (answer["segment"], answer["start_digest"], answer["digest"]) == (5, digests[5], digests[6])


def test_the_sdk_imports_nothing_but_torch_and_numpy() -> None:
    code = (
        "import sys, sdk; "
        "ours = {'api', 'chain', 'jobs', 'crowdcompute', 'provider_node', 'validator', 'pydantic'}; "
        "print(sorted(ours & {name.split('.')[0] for name in sys.modules}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
