"""Six shards, each a slice of a fixed table projected by a random matrix drawn from the shard's own
generator: independent work, one digest per shard (see sdk.shards). A validator sets
CROWDCOMPUTE_REPLAY_SHARDS and the same script recomputes only those shards.
"""

from __future__ import annotations

import torch

import sdk

SHARDS = 6
SEED = 11


def project(index: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    rows = torch.arange(index * 32, (index + 1) * 32, dtype=torch.float32).reshape(8, 4) / 100.0
    projection = torch.randn(4, 16, generator=generator)
    return {"features": torch.tanh(rows @ projection)}


JOB = sdk.ShardedJob(work=project, count=SHARDS, seed=SEED)

if __name__ == "__main__":
    JOB.run()
