#!/usr/bin/env python3
"""Export scikit-learn's bundled digits (1,797 8x8 images, no download) to `data/digits.npz`.

    python examples/digits_mlp/make_data.py      # needs scikit-learn and numpy; run once

The split is fixed (a seeded permutation, 20% held out per class) and the file is written with fixed
zip timestamps, so running this again gives the same bytes, and the bundle the same CID. Arrays:
train_images / test_images uint8 [N, 64] (pixel values 0..16), train_labels / test_labels uint8 [N].
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

OUT = Path(__file__).resolve().parent / "data" / "digits.npz"
TEST_FRACTION = 0.2
SPLIT_SEED = 20261122


def split(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices: the same fraction of every class held out, in a seeded order."""
    rng = np.random.default_rng(SPLIT_SEED)
    train, test = [], []
    for digit in range(10):
        members = rng.permutation(np.flatnonzero(labels == digit))
        held = round(len(members) * TEST_FRACTION)
        test.extend(members[:held])
        train.extend(members[held:])
    return rng.permutation(np.array(train)), rng.permutation(np.array(test))


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An .npz numpy reads, with fixed entry order and timestamps (np.savez stamps the current time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue())


def main() -> None:
    digits = load_digits()
    images = digits.data.astype(np.uint8)  # integers 0..16 stored as floats by scikit-learn
    labels = digits.target.astype(np.uint8)
    train, test = split(labels)
    write_npz(
        OUT,
        {
            "train_images": images[train],
            "train_labels": labels[train],
            "test_images": images[test],
            "test_labels": labels[test],
        },
    )
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes): {len(train)} train, {len(test)} test")


if __name__ == "__main__":
    main()
