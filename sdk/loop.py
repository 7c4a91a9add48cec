"""The deterministic, checkpointed training loop a verifiable job is written with.

A job script builds a `TrainingLoop` and calls `run()`; the same script trains for a provider and
replays sampled segments for a validator, switching on the environment (see `sdk.env`):

    loop = TrainingLoop(model=make_model, optimizer=make_optimizer, batch=dataset_batches(x, y, 64),
                        loss=F.cross_entropy, total_steps=20_000, checkpoint_interval=80, seed=7)
    if __name__ == "__main__":
        loop.run()

Training writes checkpoint i (the state after step i*K; checkpoint 0 is the state right after
initialisation) to `checkpoints/ckpt_<i>.pt`, lists every checkpoint's digest in
`checkpoints/manifest.json`, saves the final weights as `model.pt` and prints a metrics line per
segment. Segment i runs steps i*K .. min((i+1)*K, total_steps). An interrupted run picks up from its
last good checkpoint when started again on the same output folder.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sdk.checkpoint import (
    JOURNAL_FILE,
    MODEL_FILE,
    Checkpoint,
    CheckpointEntry,
    Scheduler,
    capture_state,
    checkpoint_file,
    load_checkpoint,
    read_manifest,
    restore_state,
    save_checkpoint,
    save_object,
    write_manifest,
)
from sdk.determinism import enable_determinism, seed_everything, step_generator
from sdk.digest import state_digest
from sdk.env import JobEnv, thread_count
from sdk.errors import CheckpointError, ConfigError
from sdk.metrics import emit
from sdk.startup import defer_compiler_import, skip_exit_collection

__all__ = ["BatchFn", "LiveState", "LossFn", "TrainingLoop", "dataset_batches"]

Batch = tuple[torch.Tensor, torch.Tensor]
# batch(step, generator) -> (inputs, targets); the generator is seeded from (seed, step) alone.
BatchFn = Callable[[int, torch.Generator], Batch]
# loss(model(inputs), targets) -> a scalar tensor
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def dataset_batches(inputs: torch.Tensor, targets: torch.Tensor, batch_size: int) -> BatchFn:
    """A batch function drawing `batch_size` distinct examples per step, chosen by the step's generator."""
    if len(inputs) != len(targets) or not 0 < batch_size <= len(inputs):
        raise ValueError(
            f"need len(inputs) == len(targets) >= batch_size > 0, got {len(inputs)}, "
            f"{len(targets)}, {batch_size}"
        )

    def batch(step: int, generator: torch.Generator) -> Batch:
        indices = torch.randperm(len(inputs), generator=generator)[:batch_size]
        return inputs[indices], targets[indices]

    return batch


@dataclass
class LiveState:
    """The objects training mutates, and the step they have reached."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Scheduler | None
    step: int
    threads: int  # intra-op threads: results depend on it, so checkpoints record it

    def capture(self) -> dict[str, Any]:
        return capture_state(self.step, self.model, self.optimizer, self.scheduler)

    def digest(self) -> str:
        return state_digest(self.capture())


@dataclass(frozen=True)
class TrainingLoop:
    """A training job: factories for its objects, its data, and the schedule of steps and checkpoints."""

    model: Callable[[], nn.Module]
    optimizer: Callable[[nn.Module], torch.optim.Optimizer]
    batch: BatchFn
    loss: LossFn
    total_steps: int
    checkpoint_interval: int
    seed: int = 0
    scheduler: Callable[[torch.optim.Optimizer], Scheduler] | None = None
    threads: int | None = None  # training threads; None: from the environment (`sdk.env.thread_count`)

    def __post_init__(self) -> None:
        if self.total_steps < 1 or self.checkpoint_interval < 1:
            raise ConfigError("total_steps and checkpoint_interval must be >= 1")
        if self.seed < 0:
            raise ConfigError(f"seed must be >= 0, got {self.seed}")

    @property
    def segment_count(self) -> int:
        """Segments in a run; checkpoints are one more (checkpoint 0 precedes every step)."""
        return math.ceil(self.total_steps / self.checkpoint_interval)

    def checkpoint_step(self, index: int) -> int:
        """The step checkpoint `index` was taken at."""
        if not 0 <= index <= self.segment_count:
            raise IndexError(f"checkpoint {index} does not exist; there are {self.segment_count + 1}")
        return min(index * self.checkpoint_interval, self.total_steps)

    # -- the live objects ----------------------------------------------------------------------------

    def initialise(self, threads: int | None = None) -> LiveState:
        """Seed everything, then build the model, optimizer and scheduler: the state of checkpoint 0."""
        threads = threads or self.threads or thread_count()
        defer_compiler_import()  # before the first optimizer: its wrappers would import torch._dynamo
        enable_determinism(threads)
        seed_everything(self.seed)
        model = self.model()
        model.train()
        optimizer = self.optimizer(model)
        scheduler = self.scheduler(optimizer) if self.scheduler is not None else None
        return LiveState(model, optimizer, scheduler, 0, threads)

    def restore(self, checkpoint: Checkpoint) -> LiveState:
        """Fresh live objects holding `checkpoint`, on the thread count it was made with."""
        live = self.initialise(checkpoint.threads)
        live.step = restore_state(checkpoint.state, live.model, live.optimizer, live.scheduler)
        return live

    def train_step(self, live: LiveState) -> float:
        """Run step `live.step` and advance; returns its loss."""
        inputs, targets = self.batch(live.step, step_generator(self.seed, live.step))
        live.optimizer.zero_grad(set_to_none=True)
        loss = self.loss(live.model(inputs), targets)
        loss.backward()
        live.optimizer.step()
        if live.scheduler is not None:
            live.scheduler.step()
        live.step += 1
        return float(loss.detach())

    def run_until(self, live: LiveState, end: int) -> list[float]:
        """Train until `live.step == end`; returns the losses."""
        return [self.train_step(live) for _ in range(live.step, end)]

    # -- training ------------------------------------------------------------------------------------

    def train(self, output_dir: str | os.PathLike[str], *, resume: bool = True) -> list[CheckpointEntry]:
        """The provider's run: checkpoints, manifest, model.pt and metrics lines; returns the manifest."""
        out = Path(output_dir)
        resumed = self._resume(out) if resume else None
        if resumed is None:
            live = self.initialise()
            (out / JOURNAL_FILE).unlink(missing_ok=True)
            entries = [self._checkpoint(out, live, 0)]
        else:
            live, entries = resumed
            emit("resumed", step=live.step, checkpoint=len(entries) - 1)
        for index in range(len(entries), self.segment_count + 1):
            losses = self.run_until(live, self.checkpoint_step(index))
            entries.append(self._checkpoint(out, live, index))
            emit("metrics", step=live.step, segment=index - 1, loss=sum(losses) / len(losses))
        save_object(out / MODEL_FILE, live.model.state_dict())
        write_manifest(out, entries)
        (out / JOURNAL_FILE).unlink(missing_ok=True)
        emit("trained", steps=live.step, checkpoints=len(entries), digest=entries[-1].digest)
        return entries

    def _checkpoint(self, out: Path, live: LiveState, index: int) -> CheckpointEntry:
        state = live.capture()
        entry = CheckpointEntry(index, state_digest(state), live.step, checkpoint_file(index))
        save_checkpoint(out / entry.file, state, live.threads)
        with (out / JOURNAL_FILE).open("a") as journal:
            journal.write(json.dumps(entry.to_json()) + "\n")
        return entry

    def _recorded(self, out: Path) -> list[CheckpointEntry]:
        journal = out / JOURNAL_FILE
        if not journal.is_file():
            return read_manifest(out)
        entries = []
        for line in journal.read_text().splitlines():
            try:
                entries.append(CheckpointEntry.from_json(json.loads(line)))
            except (ValueError, CheckpointError):
                break  # a line cut short by the crash: what came before still stands
        return entries

    def _resume(self, out: Path) -> tuple[LiveState, list[CheckpointEntry]] | None:
        """The last checkpoint of an earlier run of this job on `out` whose file holds its recorded digest."""
        try:
            entries = self._recorded(out)
        except CheckpointError:
            return None
        for position, entry in enumerate(entries):
            if entry.index != position or entry.index > self.segment_count:
                entries = entries[:position]
                break
        if not entries or entries[0].digest != self.initialise().digest():
            return None  # another job's (or seed's) run: start afresh
        for keep in range(len(entries), 0, -1):
            entry = entries[keep - 1]
            try:
                live = self.restore(load_checkpoint(out / checkpoint_file(entry.index)))
            except CheckpointError:
                continue
            if live.step == self.checkpoint_step(entry.index) and live.digest() == entry.digest:
                kept = entries[:keep]
                lines = "".join(json.dumps(e.to_json()) + "\n" for e in kept)
                (out / JOURNAL_FILE).write_text(lines)
                return live, kept
        return None

    # -- the entry point -----------------------------------------------------------------------------

    def run(self, env: JobEnv | None = None) -> None:
        """Train, or replay what a validator asked for: whichever the environment says."""
        from sdk.replay import replay_segments  # replay builds on this module

        job_env = env or JobEnv.from_environ()
        if job_env.replay is None:
            self.train(job_env.output_dir)
        else:
            replay_segments(self, job_env.replay, job_env.output_dir)
        skip_exit_collection()  # ~0.5 s CPU at exit, a fifth of a validator's replay
