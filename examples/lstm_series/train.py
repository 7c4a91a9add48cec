"""LSTM forecaster on a generated time series, trained verifiably with the SDK.

    python3 train.py        # CROWDCOMPUTE_OUTPUT_DIR (default /output) receives checkpoints and model.pt

The series (two seasonal waves, a slow drift and noise) is generated from the job's seed, so the job
ships no data: a provider and every validator build the same one. The model reads WINDOW past values
and predicts the next; the last TEST_FRACTION of the series is held out for evaluate.py. The schedule
comes from job.toml's [verification] table.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import sdk

HERE = Path(__file__).resolve().parent
SEED = 11
SERIES_LENGTH = 3000
WINDOW = 24
TEST_FRACTION = 0.2
BATCH_SIZE = 32
HIDDEN = 32
LEARNING_RATE = 3e-3


def make_series(seed: int = SEED, length: int = SERIES_LENGTH) -> torch.Tensor:
    """The series, a pure function of `seed`: float32 [length]."""
    generator = torch.Generator().manual_seed(sdk.derive_seed(seed, "series"))
    t = torch.arange(length, dtype=torch.float64)
    phase = float(torch.rand((), generator=generator, dtype=torch.float64)) * 2 * math.pi
    noise = torch.randn(length, generator=generator, dtype=torch.float64)
    series = (
        torch.sin(2 * math.pi * t / 50)
        + 0.5 * torch.sin(2 * math.pi * t / 17 + phase)
        + 0.3 * torch.sin(2 * math.pi * t / length)
        + 0.1 * noise
    )
    return series.to(torch.float32)


def windows(series: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (WINDOW past values [N, WINDOW, 1], next value [N, 1]) pair of `series`."""
    inputs = series.unfold(0, WINDOW, 1)[:-1].unsqueeze(-1).contiguous()
    return inputs, series[WINDOW:].unsqueeze(-1).contiguous()


def split(part: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The 'train' windows, or the 'test' windows whose targets lie in the held-out tail."""
    inputs, targets = windows(make_series())
    first_test = len(inputs) - round(len(inputs) * TEST_FRACTION)
    if part == "train":
        return inputs[: first_test - WINDOW], targets[: first_test - WINDOW]  # no overlap with test
    return inputs[first_test:], targets[first_test:]


class Forecaster(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_size=1, hidden_size=HIDDEN, batch_first=True)
        self.head = nn.Linear(HIDDEN, 1)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.lstm(inputs)
        return self.head(hidden[:, -1])


def build_loop(job_dir: Path = HERE) -> sdk.TrainingLoop:
    schedule = sdk.job_schedule(job_dir)
    inputs, targets = split("train")
    return sdk.TrainingLoop(
        model=Forecaster,
        optimizer=lambda model: torch.optim.Adam(model.parameters(), lr=LEARNING_RATE),
        batch=sdk.dataset_batches(inputs, targets, BATCH_SIZE),
        loss=F.mse_loss,
        total_steps=schedule.total_steps,
        checkpoint_interval=schedule.checkpoint_interval,
        seed=SEED,
    )


if __name__ == "__main__":
    build_loop().run()
