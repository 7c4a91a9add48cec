"""Accuracy of a trained digits model on the held-out split.

    python3 evaluate.py [OUTPUT_DIR]    # the folder holding model.pt; default CROWDCOMPUTE_OUTPUT_DIR

Prints one JSON line: {"event": "evaluation", "accuracy": 0.97, "examples": 359}.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch
from train import load_split, make_model


def accuracy(model_file: Path) -> tuple[float, int]:
    model = make_model()
    model.load_state_dict(torch.load(model_file, map_location="cpu", weights_only=True))
    model.eval()
    images, labels = load_split("test")
    with torch.no_grad():
        predicted = model(images).argmax(dim=1)
    return float((predicted == labels).float().mean()), len(labels)


def main(argv: list[str]) -> None:
    output = Path(argv[1] if len(argv) > 1 else os.environ.get("CROWDCOMPUTE_OUTPUT_DIR", "/output"))
    score, examples = accuracy(output / "model.pt")
    print(json.dumps({"event": "evaluation", "accuracy": round(score, 4), "examples": examples}))


if __name__ == "__main__":
    main(sys.argv)
