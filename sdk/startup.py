"""A job process's fixed costs, which a validator's short replay pays in full: what torch costs to load
and to unload, beyond the torch import itself.

Loading: two wrappers in torch.optim import `torch._dynamo` (~1.4 s CPU) the first time they run, in plain
eager code too:

* `torch._compile._disable_dynamo` (on `Optimizer.add_param_group`, `zero_grad`, `state_dict`,
  `load_state_dict`) imports it to build a "never compile this" version of the method, cached as the
  method's `__dynamo_disable` attribute;
* `_use_grad_for_differentiable` (on every built-in optimizer's `step`) imports it on each call for two
  `graph_break()` markers, which are empty functions outside compilation.

`defer_compiler_import()` makes both wrappers lazy while changing no result: the methods run exactly the
same eager code, and as soon as anything else has imported `torch._dynamo` (`torch.compile` does) they
hand over to torch's own wrappers. Each change is made only where torch's code has exactly the shape it
was written against (the wrapper's qualified name, its free variables and the names it uses); anything
else is left alone, so a torch that rewrites these wrappers costs startup time, never correctness.

Unloading: at exit the interpreter runs full garbage collections over every object torch created
(~0.5 s CPU). `skip_exit_collection()`, called once a job's work is done, spares it that.
"""

from __future__ import annotations

import functools
import gc
import inspect
import sys
from collections.abc import Callable
from types import FunctionType
from typing import Any

import torch

__all__ = ["defer_compiler_import", "skip_exit_collection"]

_DYNAMO = "torch._dynamo"
_CACHE_ATTRIBUTE = "__dynamo_disable"  # what torch._compile's wrapper reads and caches
_DEFERRED = "_crowdcompute_deferred"  # marks the step wrappers made here

# The wrappers' fingerprints in torch 2.13: (qualified name, free variables, global and attribute names).
_DISABLE_WRAPPER = (
    "_disable_dynamo.<locals>.inner",
    ("fn", "recursive"),
    frozenset({"getattr", "torch._dynamo", "_dynamo", "disable", "__dynamo_disable"}),
)
_GRAD_WRAPPER = (
    "_use_grad_for_differentiable.<locals>._use_grad",
    ("func",),
    frozenset(
        {
            "torch._dynamo",
            "cast",
            "Optimizer",
            "is_grad_enabled",
            "set_grad_enabled",
            "defaults",
            "_dynamo",
            "graph_break",
        }
    ),
)


def _closure(wrapper: object, fingerprint: tuple[str, tuple[str, ...], frozenset[str]]) -> dict[str, Any]:
    """The wrapper's free variables by name, or {} when it is not the wrapper the fingerprint describes."""
    if not isinstance(wrapper, FunctionType) or wrapper.__closure__ is None:
        return {}
    code = wrapper.__code__
    qualname, freevars, names = fingerprint
    if (code.co_qualname, code.co_freevars, frozenset(code.co_names)) != (qualname, freevars, names):
        return {}
    try:
        return {name: cell.cell_contents for name, cell in zip(freevars, wrapper.__closure__, strict=True)}
    except ValueError:  # an empty cell
        return {}


def _defer_disable(wrapper: object) -> bool:
    """Pre-set the attribute `_disable_dynamo`'s wrapper caches, with a stand-in that imports nothing."""
    cells = _closure(wrapper, _DISABLE_WRAPPER)
    fn, recursive = cells.get("fn"), cells.get("recursive")
    if not callable(fn) or not isinstance(recursive, bool) or getattr(fn, _CACHE_ATTRIBUTE, None) is not None:
        return False

    def call_directly_until_dynamo_loads(*args: Any, **kwargs: Any) -> Any:
        dynamo = sys.modules.get(_DYNAMO)
        disable = getattr(dynamo, "disable", None)
        if disable is None:  # nothing in this process can be compiling
            return fn(*args, **kwargs)
        resolved = disable(fn, recursive, wrapping=False)
        setattr(fn, _CACHE_ATTRIBUTE, resolved)  # torch's wrapper calls its own from now on
        return resolved(*args, **kwargs)

    setattr(fn, _CACHE_ATTRIBUTE, call_directly_until_dynamo_loads)
    return True


def _deferred_step(wrapper: Callable[..., Any]) -> Callable[..., Any] | None:
    """`_use_grad_for_differentiable`'s wrapper without its import; torch's own once dynamo is loaded."""
    func = _closure(wrapper, _GRAD_WRAPPER).get("func")
    if not callable(func):
        return None

    @functools.wraps(func)
    def step(*args: Any, **kwargs: Any) -> Any:
        if _DYNAMO in sys.modules:
            return wrapper(*args, **kwargs)
        previous = torch.is_grad_enabled()
        try:
            torch.set_grad_enabled(args[0].defaults["differentiable"])
            return func(*args, **kwargs)
        finally:
            torch.set_grad_enabled(previous)

    setattr(step, _DEFERRED, True)
    return step


def _optimizer_classes() -> list[type[torch.optim.Optimizer]]:
    found = [torch.optim.Optimizer]
    for value in vars(torch.optim).values():
        if inspect.isclass(value) and issubclass(value, torch.optim.Optimizer) and value not in found:
            found.append(value)
    return found


@functools.cache
def defer_compiler_import() -> int:
    """Make torch.optim's compiler-aware wrappers import `torch._dynamo` only once something else has.

    Call it before the first optimizer is built (`TrainingLoop` does); an optimizer class already used
    keeps its wrapper. Does nothing when `torch._dynamo` is already loaded. Returns how many wrappers it
    changed (0 on a torch whose wrappers look different), once per process.
    """
    if _DYNAMO in sys.modules:
        return 0
    changed = 0
    for cls in _optimizer_classes():
        for name, value in list(vars(cls).items()):
            if _defer_disable(value):
                changed += 1
            elif name == "step" and not getattr(value, _DEFERRED, False):
                # Only a class's own, not yet hooked step: Optimizer.__init__ wraps it in a profiling
                # hook on first use, which would keep calling the original.
                replacement = _deferred_step(value)
                if replacement is not None:
                    setattr(cls, name, replacement)
                    changed += 1
    return changed


def skip_exit_collection() -> None:
    """Keep the interpreter's exit from walking every live object: call it when the job's work is done.

    `gc.freeze()` moves every object tracked now into the permanent generation, which the collections at
    exit skip. Code that runs afterwards behaves as before; only reference cycles that are already garbage
    now stay uncollected, in a process about to end.
    """
    gc.freeze()
