"""Checkpoints on disk: the state tree they hold, their files, and the manifest that lists their digests.

A checkpoint's state tree (what `state_digest` covers):

    {"format": 1, "step": s, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
     "scheduler": scheduler.state_dict() or None, "rng": get_rng_state()}

Checkpoint i sits at `checkpoints/ckpt_<i>.pt` in the output folder; `checkpoints/manifest.json` lists
every checkpoint as jobs/commitments.py reads it:

    {"checkpoints": [{"index": 0, "digest": "<64 hex>", "step": 0, "file": "checkpoints/ckpt_0.pt"}, ...]}

The file also records the intra-op thread count the run used, outside the digest: CPU kernels split
some reductions by thread count (torch 2.13 computes a 10x64 weight gradient differently on 1 and 2
threads), so a replay runs with the recorded count whatever CPUs the validator has. A wrong count
can only make the provider's own replays fail.

Files are written to a temporary name and renamed, so a crash never leaves a half-written one. They are
loaded with `weights_only=True`: a checkpoint comes from the provider, and unpickling arbitrary objects
would let it run code inside a validator's replay.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sdk.determinism import get_rng_state, set_rng_state
from sdk.errors import CheckpointError

__all__ = [
    "CHECKPOINTS_DIR",
    "JOURNAL_FILE",
    "MANIFEST_FILE",
    "MAX_THREADS",
    "MODEL_FILE",
    "STATE_FORMAT",
    "Checkpoint",
    "CheckpointEntry",
    "Scheduler",
    "capture_state",
    "checkpoint_file",
    "load_checkpoint",
    "read_manifest",
    "restore_state",
    "save_checkpoint",
    "save_object",
    "write_json",
    "write_manifest",
]

STATE_FORMAT = 1
CHECKPOINTS_DIR = "checkpoints"
MANIFEST_FILE = f"{CHECKPOINTS_DIR}/manifest.json"
JOURNAL_FILE = f"{CHECKPOINTS_DIR}/journal.jsonl"  # progress of a run in flight; gone once it finishes
MODEL_FILE = "model.pt"
MAX_THREADS = 256
_STATE_KEYS = frozenset({"format", "step", "model", "optimizer", "scheduler", "rng"})

Scheduler = torch.optim.lr_scheduler.LRScheduler


def checkpoint_file(index: int) -> str:
    """Checkpoint `index`'s path relative to the output folder."""
    return f"{CHECKPOINTS_DIR}/ckpt_{index}.pt"


@dataclass(frozen=True)
class CheckpointEntry:
    """One line of the manifest."""

    index: int
    digest: str
    step: int
    file: str

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "digest": self.digest, "step": self.step, "file": self.file}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CheckpointEntry:
        try:
            return cls(int(data["index"]), str(data["digest"]), int(data["step"]), str(data["file"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"malformed checkpoint entry {dict(data)!r}: {exc}") from None


def capture_state(
    step: int, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Scheduler | None = None
) -> dict[str, Any]:
    """The state tree at `step` (tensors are the live ones: digest or save it before the next step)."""
    return {
        "format": STATE_FORMAT,
        "step": step,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "rng": get_rng_state(),
    }


def restore_state(
    state: Mapping[str, Any],
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Scheduler | None = None,
) -> int:
    """Load `state` into the live objects and the global generators; returns its step."""
    try:
        model.load_state_dict(state["model"], strict=True)
        optimizer.load_state_dict(state["optimizer"])
        if (scheduler is None) != (state["scheduler"] is None):
            raise CheckpointError("the checkpoint and the job disagree on whether there is a scheduler")
        if scheduler is not None:
            scheduler.load_state_dict(state["scheduler"])
        set_rng_state(state["rng"])
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"the checkpoint does not fit this job: {exc}") from None
    return int(state["step"])


def _atomic_write(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    write(partial)
    os.replace(partial, path)


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint as read back: the state tree (what the digest covers) and the run's thread count."""

    state: dict[str, Any]
    threads: int


def save_object(path: str | os.PathLike[str], value: Any) -> None:
    """Write `value` (a state dict, a shard's output) with `torch.save`, atomically."""
    _atomic_write(Path(path), lambda target: torch.save(value, target))


def save_checkpoint(path: str | os.PathLike[str], state: Mapping[str, Any], threads: int) -> None:
    """Write a checkpoint: `state` (from `capture_state`) and the thread count that produced it."""
    save_object(path, {**state, "threads": threads})


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint this SDK wrote (tensors, containers and plain values only), on the CPU."""
    file = Path(path)
    if not file.is_file():
        raise CheckpointError(f"no checkpoint file at {file}")
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as exc:
        raise CheckpointError(f"cannot read checkpoint {file.name}: {exc}") from None
    if not isinstance(state, dict) or set(state) != {*_STATE_KEYS, "threads"}:
        keys = sorted(map(str, state))[:8] if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(f"{file.name} is not a checkpoint of this SDK (keys {keys})")
    threads = state.pop("threads")
    if state["format"] != STATE_FORMAT or not isinstance(state["step"], int) or state["step"] < 0:
        raise CheckpointError(f"{file.name}: unknown format {state['format']!r} or bad step")
    if not isinstance(threads, int) or not 1 <= threads <= MAX_THREADS:
        raise CheckpointError(f"{file.name}: thread count {threads!r} is not 1..{MAX_THREADS}")
    return Checkpoint(state, threads)


def write_json(path: str | os.PathLike[str], document: Any) -> None:
    """Write `document` as JSON, atomically."""
    text = json.dumps(document, indent=1) + "\n"
    _atomic_write(Path(path), lambda target: Path(target).write_text(text))


def write_manifest(output_dir: str | os.PathLike[str], entries: list[CheckpointEntry]) -> Path:
    """Write `checkpoints/manifest.json` listing `entries` (in index order)."""
    path = Path(output_dir) / MANIFEST_FILE
    ordered = sorted(entries, key=lambda entry: entry.index)
    write_json(path, {"checkpoints": [entry.to_json() for entry in ordered]})
    return path


def read_manifest(output_dir: str | os.PathLike[str]) -> list[CheckpointEntry]:
    """The entries of `checkpoints/manifest.json`; [] when there is none."""
    path = Path(output_dir) / MANIFEST_FILE
    if not path.is_file():
        return []
    try:
        document = json.loads(path.read_text())
        return [CheckpointEntry.from_json(entry) for entry in document["checkpoints"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{MANIFEST_FILE} is malformed: {exc}") from None
