"""The training loop: repeatable runs, data order by (seed, step), the committed manifest, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from jobs.commitments import checkpoint_commitment, checkpoint_digests, merkle_root
from sdk import (
    MANIFEST_FILE,
    MODEL_FILE,
    TrainingLoop,
    dataset_batches,
    load_checkpoint,
    state_digest,
    step_generator,
)
from tests.sdk.sdk_helpers import manifest_digests, tiny_loop


def test_two_runs_give_identical_digests(tmp_path: Path) -> None:
    first = tiny_loop().train(tmp_path / "a")
    second = tiny_loop().train(tmp_path / "b")
    assert [e.digest for e in first] == [e.digest for e in second]
    assert len({e.digest for e in first}) == len(first)  # every checkpoint is a different state
    assert manifest_digests(tmp_path / "a") == manifest_digests(tmp_path / "b")


def test_a_different_seed_gives_different_digests(tmp_path: Path) -> None:
    assert tiny_loop(seed=3).train(tmp_path / "a")[0] != tiny_loop(seed=4).train(tmp_path / "b")[0]


def test_run_writes_checkpoints_manifest_model_and_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loop = tiny_loop(total_steps=10, interval=4)  # a short last segment: steps 8..10
    entries = loop.train(tmp_path)
    assert [(e.index, e.step, e.file) for e in entries] == [
        (0, 0, "checkpoints/ckpt_0.pt"),
        (1, 4, "checkpoints/ckpt_1.pt"),
        (2, 8, "checkpoints/ckpt_2.pt"),
        (3, 10, "checkpoints/ckpt_3.pt"),
    ]
    document = json.loads((tmp_path / MANIFEST_FILE).read_text())
    assert document == {"checkpoints": [e.to_json() for e in entries]}
    for entry in entries:
        assert state_digest(load_checkpoint(tmp_path / entry.file).state) == entry.digest
    final = torch.load(tmp_path / MODEL_FILE, weights_only=True)
    assert state_digest(final) == state_digest(load_checkpoint(tmp_path / entries[-1].file).state["model"])
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        "ckpt_0.pt",
        "ckpt_1.pt",
        "ckpt_2.pt",
        "ckpt_3.pt",
        "manifest.json",
    ]
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    metrics = [line for line in lines if line["event"] == "metrics"]
    assert [(m["step"], m["segment"]) for m in metrics] == [(4, 0), (8, 1), (10, 2)]
    assert all(isinstance(m["loss"], float) and m["loss"] > 0 for m in metrics)


def test_manifest_is_what_jobs_commitments_reads(tmp_path: Path) -> None:
    entries = tiny_loop().train(tmp_path)
    leaves = [bytes.fromhex(e.digest) for e in entries]
    assert checkpoint_digests(tmp_path) == leaves
    commitment = checkpoint_commitment(tmp_path)
    assert commitment.count == len(entries) == tiny_loop().segment_count + 1
    assert commitment.root == merkle_root(leaves)


def test_checkpoint_zero_is_the_state_before_any_step(tmp_path: Path) -> None:
    loop = tiny_loop()
    entries = loop.train(tmp_path)
    assert entries[0].step == 0
    assert entries[0].digest == loop.initialise().digest()


def test_data_order_is_a_pure_function_of_seed_and_step() -> None:
    inputs = torch.arange(100).unsqueeze(1).float()
    batch = dataset_batches(inputs, torch.arange(100), 10)
    alone = batch(57, step_generator(3, 57))[1]
    for step in range(57):  # whatever ran before, and the global generator's state, do not matter
        batch(step, step_generator(3, step))
        torch.rand(7)
    assert torch.equal(batch(57, step_generator(3, 57))[1], alone)
    assert not torch.equal(batch(58, step_generator(3, 58))[1], alone)
    assert not torch.equal(batch(57, step_generator(4, 57))[1], alone)
    assert len(set(alone.tolist())) == 10  # distinct examples within a batch


def test_the_loop_draws_each_step_from_its_own_generator() -> None:
    seen: list[tuple[int, list[int]]] = []

    def batch(step: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        seen.append((step, torch.randint(0, 1000, (3,), generator=generator).tolist()))
        return torch.ones(2, 5), torch.ones(2, 1)

    base = tiny_loop()
    loop = TrainingLoop(base.model, base.optimizer, batch, base.loss, 6, 3, seed=base.seed, threads=1)
    live = loop.initialise()
    loop.run_until(live, 6)
    expected = [
        (s, torch.randint(0, 1000, (3,), generator=step_generator(base.seed, s)).tolist()) for s in range(6)
    ]
    assert seen == expected


class NodeDied(Exception):
    pass


def _resumed_at(output: str) -> list[int]:
    lines = [json.loads(line) for line in output.splitlines()]
    return [line["checkpoint"] for line in lines if line["event"] == "resumed"]


def test_an_interrupted_run_resumes_to_the_same_digests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean = tiny_loop().train(tmp_path / "clean")
    base = tiny_loop()

    def crash_at_step_7(step: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        if step == 7:
            raise NodeDied  # mid-segment, after checkpoint 1
        return base.batch(step, generator)

    crashing = TrainingLoop(
        base.model, base.optimizer, crash_at_step_7, base.loss, 12, 4, base.seed, base.scheduler, threads=1
    )
    out = tmp_path / "resumed"
    with pytest.raises(NodeDied):
        crashing.train(out)
    assert not (out / MANIFEST_FILE).exists()
    with (out / "checkpoints" / "journal.jsonl").open("a") as journal:
        journal.write('{"index": 2, "dig')  # a line torn by the crash
    capsys.readouterr()
    resumed = tiny_loop().train(out)
    assert _resumed_at(capsys.readouterr().out) == [1]
    assert [e.digest for e in resumed] == [e.digest for e in clean]
    assert not (out / "checkpoints" / "journal.jsonl").exists()


def test_a_corrupt_last_checkpoint_resumes_from_the_one_before(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean = tiny_loop().train(tmp_path / "clean")
    out = tmp_path / "run"
    tiny_loop().train(out)
    (out / MANIFEST_FILE).unlink()
    (out / "checkpoints" / "journal.jsonl").write_text("".join(json.dumps(e.to_json()) + "\n" for e in clean))
    (out / clean[-1].file).write_bytes(b"not a checkpoint")
    capsys.readouterr()
    assert [e.digest for e in tiny_loop().train(out)] == [e.digest for e in clean]
    assert _resumed_at(capsys.readouterr().out) == [len(clean) - 2]


def test_checkpoints_record_the_thread_count(tmp_path: Path) -> None:
    entries = tiny_loop(threads=2).train(tmp_path)
    assert {load_checkpoint(tmp_path / e.file).threads for e in entries} == {2}


def test_another_jobs_leftovers_are_not_resumed(tmp_path: Path) -> None:
    tiny_loop(seed=5).train(tmp_path / "out")  # a finished run of another seed left its manifest
    assert tiny_loop(seed=3).train(tmp_path / "out") == tiny_loop(seed=3).train(tmp_path / "clean")
