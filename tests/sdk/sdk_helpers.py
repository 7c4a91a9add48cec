"""Small jobs for the SDK tests: a tiny in-process training loop, and the examples run as real processes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from jobs.executors.base import numeric_env
from sdk import TrainingLoop, dataset_batches

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def tiny_loop(*, total_steps: int = 12, interval: int = 4, seed: int = 3, threads: int = 1) -> TrainingLoop:
    """A loop that trains in milliseconds but uses every part of the state: momentum buffers, a
    scheduler, and dropout (the global generator, so checkpoints must carry its state)."""
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(40, 5, generator=generator)
    targets = inputs @ torch.randn(5, 1, generator=generator) + 0.1 * torch.randn(40, 1, generator=generator)

    def model() -> nn.Module:
        return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Dropout(0.2), nn.Linear(8, 1))

    return TrainingLoop(
        model=model,
        optimizer=lambda m: torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9),
        scheduler=lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=5, gamma=0.5),
        batch=dataset_batches(inputs, targets, 8),
        loss=F.mse_loss,
        total_steps=total_steps,
        checkpoint_interval=interval,
        seed=seed,
        threads=threads,
    )


def manifest_digests(output_dir: Path) -> list[str]:
    document = json.loads((output_dir / "checkpoints" / "manifest.json").read_text())
    return [entry["digest"] for entry in document["checkpoints"]]


def example_copy(name: str, dest: Path, *, interval: int, segments: int) -> Path:
    """A copy of examples/<name> whose job.toml asks for `segments` segments of `interval` steps."""
    shutil.copytree(EXAMPLES / name, dest, ignore=shutil.ignore_patterns("__pycache__"))
    manifest = dest / "job.toml"
    text = re.sub(
        r"(?m)^checkpoint_interval = \d+", f"checkpoint_interval = {interval}", manifest.read_text()
    )
    text = re.sub(r"(?m)^segments = \d+", f"segments = {segments}", text)
    manifest.write_text(text)
    return dest


def run_script(job_dir: Path, script: str, output_dir: Path, *args: str, **env: str) -> list[dict[str, Any]]:
    """Run `script` of a job folder as the sandbox would (host paths); returns its JSON stdout lines."""
    output_dir.mkdir(parents=True, exist_ok=True)
    base = {name: value for name, value in os.environ.items() if not name.startswith("CROWDCOMPUTE_")}
    environment = {
        **base,
        "PYTHONPATH": str(REPO),
        "PYTHONDONTWRITEBYTECODE": "1",
        **numeric_env(1),  # as the executors set it: one thread, MKL's reproducible path
        "CROWDCOMPUTE_INPUT_DIR": str(job_dir),
        "CROWDCOMPUTE_OUTPUT_DIR": str(output_dir),
        **env,
    }
    result = subprocess.run(
        [sys.executable, script, *args],
        cwd=job_dir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{script} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
