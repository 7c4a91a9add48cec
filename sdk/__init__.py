"""crowdcompute's job SDK: verifiable training inside the runtime image (depends on torch and numpy only).

A job script builds a `TrainingLoop` (or a `ShardedJob`) and calls `run()`. For a provider that trains,
writing checkpoints, their digests (`checkpoints/manifest.json`), `model.pt` and metrics lines; for a
validator (CROWDCOMPUTE_REPLAY_* set) the same script recomputes the sampled segments' digests into
`replay.json`. The modules: `loop` (training), `replay` (re-execution), `checkpoint` (files and
manifest), `digest` (canonical state digests), `determinism` (seeds, kernels, threads), `shards`,
`distance` (tolerant comparison), `env` (the sandbox's variables), `metrics` (JSON log lines),
`startup` (spares a short process torch's compiler import and its exit-time collection).
"""

from sdk.checkpoint import (
    MANIFEST_FILE,
    MODEL_FILE,
    Checkpoint,
    CheckpointEntry,
    capture_state,
    checkpoint_file,
    load_checkpoint,
    read_manifest,
    restore_state,
    save_checkpoint,
)
from sdk.determinism import derive_seed, enable_determinism, seed_everything, step_generator
from sdk.digest import canonical_bytes, state_digest
from sdk.distance import Distance, state_distance, within_tolerance
from sdk.env import JobEnv, ReplayRequest, Schedule, job_schedule, thread_count
from sdk.errors import CheckpointError, ConfigError, DigestError, ReplayError, SdkError, StateMismatchError
from sdk.loop import BatchFn, LiveState, LossFn, TrainingLoop, dataset_batches
from sdk.metrics import emit
from sdk.replay import REPLAY_FILE, replay_segments
from sdk.shards import ShardedJob
from sdk.startup import defer_compiler_import, skip_exit_collection

__all__ = [
    "MANIFEST_FILE",
    "MODEL_FILE",
    "REPLAY_FILE",
    "BatchFn",
    "Checkpoint",
    "CheckpointEntry",
    "CheckpointError",
    "ConfigError",
    "DigestError",
    "Distance",
    "JobEnv",
    "LiveState",
    "LossFn",
    "ReplayError",
    "ReplayRequest",
    "Schedule",
    "SdkError",
    "ShardedJob",
    "StateMismatchError",
    "TrainingLoop",
    "canonical_bytes",
    "capture_state",
    "checkpoint_file",
    "dataset_batches",
    "defer_compiler_import",
    "derive_seed",
    "emit",
    "enable_determinism",
    "job_schedule",
    "load_checkpoint",
    "read_manifest",
    "replay_segments",
    "restore_state",
    "save_checkpoint",
    "seed_everything",
    "skip_exit_collection",
    "state_digest",
    "state_distance",
    "step_generator",
    "thread_count",
    "within_tolerance",
]
