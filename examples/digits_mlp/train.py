"""Digits MLP: a small classifier on scikit-learn's 8x8 digits, trained verifiably with the SDK.

    python3 train.py        # CROWDCOMPUTE_OUTPUT_DIR (default /output) receives checkpoints and model.pt

The schedule (steps per segment, segments) comes from job.toml's [verification] table; the same script
replays segments when a validator sets CROWDCOMPUTE_REPLAY_SEGMENTS (see sdk.env).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import sdk

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "digits.npz"
SEED = 7
BATCH_SIZE = 64
HIDDEN = 32  # small layers keep each of the 1001 checkpoints small (~62 KB)
LEARNING_RATE = 1e-2


def load_split(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images as float32 in [0, 1] (pixel values are 0..16) and labels as int64, for 'train' or 'test'."""
    with np.load(DATA) as data:
        images = torch.from_numpy(data[f"{split}_images"].astype(np.float32) / 16.0)
        labels = torch.from_numpy(data[f"{split}_labels"].astype(np.int64))
    return images, labels


def make_model() -> nn.Module:
    return nn.Sequential(
        nn.Linear(64, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 10)
    )


def build_loop(job_dir: Path = HERE) -> sdk.TrainingLoop:
    schedule = sdk.job_schedule(job_dir)
    images, labels = load_split("train")

    def make_scheduler(optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler:
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=schedule.total_steps)

    return sdk.TrainingLoop(
        model=make_model,
        optimizer=lambda model: torch.optim.Adam(model.parameters(), lr=LEARNING_RATE),
        scheduler=make_scheduler,
        batch=sdk.dataset_batches(images, labels, BATCH_SIZE),
        loss=F.cross_entropy,
        total_steps=schedule.total_steps,
        checkpoint_interval=schedule.checkpoint_interval,
        seed=SEED,
    )


if __name__ == "__main__":
    build_loop().run()
