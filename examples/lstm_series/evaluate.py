"""Forecast error of a trained LSTM on the held-out tail of the series, against a naive forecast.

    python3 evaluate.py [OUTPUT_DIR]    # the folder holding model.pt; default CROWDCOMPUTE_OUTPUT_DIR

Prints one JSON line: {"event": "evaluation", "mse": ..., "naive_mse": ..., "skill": ...}, where the
naive forecast repeats the last value seen and skill = 1 - mse / naive_mse (above 0: better than it).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch
from train import Forecaster, split


def scores(model_file: Path) -> dict[str, float]:
    model = Forecaster()
    model.load_state_dict(torch.load(model_file, map_location="cpu", weights_only=True))
    model.eval()
    inputs, targets = split("test")
    with torch.no_grad():
        mse = float(torch.mean((model(inputs) - targets) ** 2))
    naive = float(torch.mean((inputs[:, -1] - targets) ** 2))
    return {"mse": round(mse, 6), "naive_mse": round(naive, 6), "skill": round(1 - mse / naive, 4)}


def main(argv: list[str]) -> None:
    output = Path(argv[1] if len(argv) > 1 else os.environ.get("CROWDCOMPUTE_OUTPUT_DIR", "/output"))
    print(json.dumps({"event": "evaluation", **scores(output / "model.pt")}))


if __name__ == "__main__":
    main(sys.argv)
