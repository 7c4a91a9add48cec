"""Making a run repeatable: seeds for every generator, deterministic kernels, fixed thread counts.

Per-step randomness (which examples a step trains on) comes from `step_generator(seed, step)`, a fresh
generator seeded from (seed, step) alone, so a step draws the same batch whatever ran before it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import sys
from typing import Any

import numpy as np
import torch

__all__ = [
    "derive_seed",
    "enable_determinism",
    "get_rng_state",
    "seed_everything",
    "set_rng_state",
    "step_generator",
]

_SEED_DOMAIN = b"crowdcompute/seed/v1"
_MAX_SEED = 2**63 - 1


def derive_seed(seed: int, *parts: int | str) -> int:
    """A 63-bit seed that is a pure function of `seed` and `parts` (sha256, not Python's salted hash)."""
    text = ":".join(str(part) for part in (seed, *parts)).encode()
    return int.from_bytes(hashlib.sha256(_SEED_DOMAIN + b"\0" + text).digest()[:8], "little") & _MAX_SEED


def step_generator(seed: int, step: int, purpose: str = "data") -> torch.Generator:
    """A CPU generator seeded from (seed, purpose, step) only."""
    generator = torch.Generator()
    generator.manual_seed(derive_seed(seed, purpose, step))
    return generator


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's global generators."""
    random.seed(seed)
    np.random.seed(derive_seed(seed, "numpy") % 2**32)
    torch.manual_seed(seed)


def enable_determinism(threads: int) -> None:
    """Deterministic kernels only, and exactly `threads` intra-op threads (the sandbox's CPU limit)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # needed for deterministic cuBLAS
    os.environ["TORCHINDUCTOR_DETERMINISTIC"] = "1"  # torch.compile's setting, read when it is imported
    inductor = sys.modules.get("torch._inductor.config")
    if inductor is not None:
        setattr(inductor, "deterministic", True)  # noqa: B010 (a module, typed as ModuleType)
    # What torch.use_deterministic_algorithms(True) does, minus its import of torch._inductor, which
    # costs ~2 s of CPU: as much again as importing torch, paid by every validator's replay process.
    torch._C._set_deterministic_algorithms(True, warn_only=False)
    torch.backends.cudnn.benchmark = False
    torch.set_num_threads(max(1, threads))
    # Settable once per process, before any parallel work; a second loop in the same process keeps it.
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(1)


def get_rng_state() -> dict[str, Any]:
    """The global generators' states as plain values and tensors (loadable with `weights_only=True`)."""
    _, key, pos, has_gauss, cached = np.random.get_state(legacy=True)
    version, internal, gauss_next = random.getstate()
    # CUDA generators only once CUDA is in use (a GPU job's model factory moved the model there).
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else []
    return {
        "torch": torch.get_rng_state(),
        "cuda": cuda,
        "numpy": {
            "key": torch.from_numpy(np.asarray(key, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": {
            "version": int(version),
            "internal": torch.tensor(internal, dtype=torch.int64),
            "gauss_next": gauss_next,
        },
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what `get_rng_state` returned."""
    torch.set_rng_state(state["torch"])
    if state["cuda"]:
        torch.cuda.set_rng_state_all(state["cuda"])
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            "MT19937",
            numpy_state["key"].numpy().astype(np.uint32),
            numpy_state["pos"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    python_state = state["python"]
    internal = tuple(int(value) for value in python_state["internal"].tolist())
    random.setstate((python_state["version"], internal, python_state["gauss_next"]))
