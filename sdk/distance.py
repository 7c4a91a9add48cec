"""How far apart two states are, for jobs whose re-runs are not bit-exact (GPU kernels).

`state_distance` walks two state trees of the same structure (same keys, shapes and dtypes) and
measures their floating-point tensors together, as one long vector:

* `max_abs`: the largest |a - b| of any element;
* `rel_l2`: ||a - b||_2 / ||b||_2 (b is the reference, e.g. the provider's checkpoint).

Anything else in the trees (integer tensors, step counts, strings) must be equal; where it is not, both
distances are infinite. NaN anywhere also gives infinity. Different structures raise
`StateMismatchError`; `within_tolerance` treats that as "not within".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from sdk.errors import StateMismatchError

__all__ = ["Distance", "Metric", "state_distance", "within_tolerance"]

Metric = Literal["rel_l2", "max_abs"]


@dataclass(frozen=True)
class Distance:
    max_abs: float
    rel_l2: float
    elements: int  # floating-point elements compared

    def to_json(self) -> dict[str, Any]:
        def plain(value: float) -> float | None:
            return value if math.isfinite(value) else None  # JSON has no infinity

        return {"max_abs": plain(self.max_abs), "rel_l2": plain(self.rel_l2), "elements": self.elements}


@dataclass
class _Totals:
    max_abs: float = 0.0
    diff_sq: float = 0.0
    ref_sq: float = 0.0
    elements: int = 0
    unequal: bool = False


def _tensors(a: torch.Tensor, b: torch.Tensor, totals: _Totals, where: str) -> None:
    if a.shape != b.shape or a.dtype != b.dtype:
        raise StateMismatchError(f"{where}: {a.dtype}{list(a.shape)} vs {b.dtype}{list(b.shape)}")
    left, right = a.detach().to("cpu"), b.detach().to("cpu")
    if not (left.is_floating_point() or left.is_complex()):
        totals.unequal |= not torch.equal(left, right)
        return
    left, right = left.to(torch.float64), right.to(torch.float64)
    if left.numel():
        diff = (left - right).abs()
        totals.max_abs = max(totals.max_abs, float(diff.max()))
        totals.diff_sq += float((diff * diff).sum())
        totals.ref_sq += float((right.abs() ** 2).sum())
    totals.elements += left.numel()


def _walk(a: Any, b: Any, totals: _Totals, where: str) -> None:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            raise StateMismatchError(
                f"{where}: a tensor against a {type(b if isinstance(a, torch.Tensor) else a).__name__}"
            )
        _tensors(a, b, totals, where)
    elif isinstance(a, Mapping) and isinstance(b, Mapping):
        if set(a) != set(b):
            raise StateMismatchError(f"{where}: keys differ: {sorted(map(str, set(a) ^ set(b)))[:5]}")
        for key in a:
            _walk(a[key], b[key], totals, f"{where}.{key}")
    elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            raise StateMismatchError(f"{where}: {len(a)} items vs {len(b)}")
        for index, (left, right) in enumerate(zip(a, b, strict=True)):
            _walk(left, right, totals, f"{where}[{index}]")
    elif isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        _tensors(torch.from_numpy(a), torch.from_numpy(b), totals, where)
    elif type(a) is not type(b):
        raise StateMismatchError(f"{where}: a {type(a).__name__} against a {type(b).__name__}")
    else:
        totals.unequal |= a != b


def state_distance(a: Any, b: Any) -> Distance:
    """The distance of state `a` from reference state `b` (see the module docstring)."""
    totals = _Totals()
    _walk(a, b, totals, "state")
    if totals.unequal or not (math.isfinite(totals.diff_sq) and math.isfinite(totals.max_abs)):
        return Distance(math.inf, math.inf, totals.elements)
    diff = math.sqrt(totals.diff_sq)
    reference = math.sqrt(totals.ref_sq)
    rel_l2 = diff / reference if reference > 0 else (0.0 if diff == 0 else math.inf)
    return Distance(totals.max_abs, rel_l2, totals.elements)


def within_tolerance(a: Any, b: Any, tolerance: float, *, metric: Metric = "rel_l2") -> bool:
    """Whether `a` is within `tolerance` of `b` by `metric`; structurally different states never are."""
    try:
        distance = state_distance(a, b)
    except StateMismatchError:
        return False
    return getattr(distance, metric) <= tolerance
