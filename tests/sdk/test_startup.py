"""A replay's fixed costs cut: torch's compiler is never imported by a job, the exit skips its full
garbage collection, and no result changes for either.

Each check runs in a fresh interpreter, since whether `torch._dynamo` was imported is a property of the
whole process. Digests are compared bit for bit against a run whose process imported the compiler first,
so that every optimizer wrapper ran torch's own code there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sdk import startup
from tests.sdk.sdk_helpers import REPO, example_copy, manifest_digests

# Trains the digits example, then replays init, segment 2 and final, all in one process.
TRAIN_AND_REPLAY = """
import gc, json, os, runpy, sys
if sys.argv[1] == "compiler-first":
    import torch._dynamo
import sdk
job, out = sys.argv[2], sys.argv[3]
os.chdir(job)
os.environ["CROWDCOMPUTE_OUTPUT_DIR"] = out + "/train"
runpy.run_path("train.py", run_name="__main__")
os.environ.update(
    CROWDCOMPUTE_OUTPUT_DIR=out + "/replay",
    CROWDCOMPUTE_REPLAY_SEGMENTS="init,2,final",
    CROWDCOMPUTE_REPLAY_CHECKPOINT_DIR=out + "/train/checkpoints",
    CROWDCOMPUTE_REPLAY_MODEL=out + "/train/model.pt",
)
runpy.run_path("train.py", run_name="__main__")
print(json.dumps({
    "dynamo": "torch._dynamo" in sys.modules,
    "deferred": sdk.defer_compiler_import(),
    "frozen_for_exit": gc.get_freeze_count() > 0,
}))
"""

# Defers, trains a step, then loads the compiler and trains again, eagerly and under torch.compile.
HANDOVER = """
import json, sys
import torch
import sdk
deferred = sdk.defer_compiler_import()
model = torch.nn.Linear(3, 1)
optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
def step():
    optimizer.zero_grad()
    model(torch.ones(2, 3)).sum().backward()
    optimizer.step()
step()
before = "torch._dynamo" in sys.modules
import torch._dynamo
step()
cached = getattr(torch.optim.Optimizer.zero_grad.__wrapped__, "__dynamo_disable")
torch.compile(step, backend="eager")()
print(json.dumps({
    "deferred": deferred,
    "dynamo_before": before,
    "handed_over": cached.__name__ != "call_directly_until_dynamo_loads",
    "steps": int(optimizer.state[model.weight]["step"]),
}))
"""


def run_python(code: str, *args: str) -> dict[str, Any]:
    environment = {name: value for name, value in os.environ.items() if not name.startswith("CROWDCOMPUTE_")}
    environment.update(PYTHONPATH=str(REPO), PYTHONDONTWRITEBYTECODE="1", TORCH_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "-c", code, *args], env=environment, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    document: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return document


def replayed_digests(out: Path) -> list[str]:
    init, segment, final = json.loads((out / "replay" / "replay.json").read_text())["replays"]
    assert final["model_matches"] is True
    return [init["digest"], segment["start_digest"], segment["digest"], final["digest"]]


@pytest.mark.slow
def test_training_and_replay_never_import_the_compiler_and_digests_are_unchanged(tmp_path: Path) -> None:
    job = example_copy("digits_mlp", tmp_path / "job", interval=20, segments=4)
    lean = run_python(TRAIN_AND_REPLAY, "deferred", str(job), str(tmp_path / "lean"))
    full = run_python(TRAIN_AND_REPLAY, "compiler-first", str(job), str(tmp_path / "full"))

    # Optimizer's add_param_group, zero_grad, state_dict, load_state_dict and each built-in step.
    assert lean["dynamo"] is False and lean["deferred"] >= 5
    assert full["dynamo"] is True and full["deferred"] == 0  # torch's own wrappers throughout
    assert lean["frozen_for_exit"] is True  # the exit's collection skips what the job left alive
    digests = manifest_digests(tmp_path / "lean" / "train")
    assert len(digests) == 5
    assert manifest_digests(tmp_path / "full" / "train") == digests
    expected = [digests[0], digests[2], digests[3], digests[4]]
    assert replayed_digests(tmp_path / "lean") == replayed_digests(tmp_path / "full") == expected


@pytest.mark.slow
def test_wrappers_hand_over_to_torch_once_the_compiler_is_loaded() -> None:
    answer = run_python(HANDOVER)
    assert answer["deferred"] > 0 and answer["dynamo_before"] is False
    assert answer["handed_over"] is True
    assert answer["steps"] == 3  # eager, eager with the compiler loaded, compiled


# Same qualified name as torch's wrapper, different body: what a changed torch would look like.
def _disable_dynamo(fn: Callable[..., Any], recursive: bool = True) -> Callable[..., Any]:
    def inner(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs) if recursive else None

    inner.__wrapped__ = fn  # type: ignore[attr-defined]
    return inner


def test_a_wrapper_of_another_shape_is_left_alone() -> None:
    def method() -> str:
        return "ran"

    lookalike = _disable_dynamo(method)
    assert startup._defer_disable(lookalike) is False
    assert not hasattr(method, "__dynamo_disable")
    assert startup._deferred_step(lookalike) is None
    assert lookalike() == "ran"
