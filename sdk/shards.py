"""Shards: a job split into independent pieces, each output committed as one leaf.

    job = ShardedJob(work=score_chunk, count=64, seed=3)   # work(index, generator) -> a state tree
    if __name__ == "__main__":
        job.run()

A run computes every shard in order, saves shard j's output at `shards/shard_<j>.pt` and lists the
digests (canonical, as for checkpoints) in `checkpoints/manifest.json`, one leaf per shard:

    {"checkpoints": [{"index": 0, "digest": "<64 hex>", "file": "shards/shard_0.pt"}, ...]}

Shard j's randomness is a pure function of (seed, j): the global generators are seeded from it before
`work` is called, and `work` gets a generator seeded from it too. A validator sets
CROWDCOMPUTE_REPLAY_SHARDS="2,5"; the job then recomputes those shards only and writes
`replay.json`: {"replays": [{"shard": 2, "digest": "<64 hex>"}, ...], "shards": 64}.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from sdk.checkpoint import MANIFEST_FILE, save_object, write_json
from sdk.determinism import derive_seed, enable_determinism, seed_everything, step_generator
from sdk.digest import state_digest
from sdk.env import JobEnv
from sdk.errors import ConfigError, ReplayError
from sdk.metrics import emit
from sdk.startup import skip_exit_collection

__all__ = ["SHARDS_DIR", "ShardFn", "ShardedJob", "shard_file"]

SHARDS_DIR = "shards"
ShardFn = Callable[[int, torch.Generator], Any]


def shard_file(index: int) -> str:
    """Shard `index`'s output path relative to the output folder."""
    return f"{SHARDS_DIR}/shard_{index}.pt"


@dataclass(frozen=True)
class ShardedJob:
    """`count` independent shards, shard j computed by `work(j, generator)`."""

    work: ShardFn
    count: int
    seed: int = 0
    # Fixed by the job, not the machine: CPU reductions can depend on it, and replays must match.
    threads: int = 1

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ConfigError("a sharded job needs at least one shard")

    def compute(self, index: int) -> tuple[Any, str]:
        """Shard `index`'s output and its digest."""
        if not 0 <= index < self.count:
            raise ReplayError(f"shard {index} does not exist; the job has {self.count}")
        enable_determinism(self.threads)
        seed_everything(derive_seed(self.seed, "shard", index))
        output = self.work(index, step_generator(self.seed, index, "shard"))
        return output, state_digest(output)

    def run_all(self, output_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
        """Every shard: outputs, the manifest and a progress line each; returns the manifest entries."""
        out = Path(output_dir)
        entries = []
        for index in range(self.count):
            output, digest = self.compute(index)
            save_object(out / shard_file(index), output)
            entries.append({"index": index, "digest": digest, "file": shard_file(index)})
            emit("shard", index=index, digest=digest)
        write_json(out / MANIFEST_FILE, {"checkpoints": entries})
        return entries

    def replay(self, shards: Sequence[int], output_dir: str | os.PathLike[str]) -> dict[str, Any]:
        """Recompute `shards` and write their digests to `replay.json`."""
        replays: list[dict[str, Any]] = []
        for index in shards:
            try:
                replays.append({"shard": index, "digest": self.compute(index)[1]})
            except ReplayError as exc:
                replays.append({"shard": index, "error": str(exc)})
            emit("replay", **replays[-1])
        document = {"replays": replays, "shards": self.count}
        write_json(Path(output_dir) / "replay.json", document)
        return document

    def run(self, env: JobEnv | None = None) -> None:
        """Run every shard, or replay the ones a validator asked for."""
        job_env = env or JobEnv.from_environ()
        if job_env.replay is None:
            self.run_all(job_env.output_dir)
        elif job_env.replay.segments:
            raise ReplayError("this job runs shards; set CROWDCOMPUTE_REPLAY_SHARDS, not segments")
        else:
            self.replay(job_env.replay.shards, job_env.output_dir)
        skip_exit_collection()
