"""bench/e2e.py on a shared machine: a run whose job did not end Accepted (another stack on the same Docker
engine killed its container) is listed in `failed_runs` and left out of the figures; the runs that finished
still give them. Without a stack: the stack, the direct run and the flow are stand-ins."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import bench.e2e as e2e
from crowdcompute.demo.errors import FlowError


class FakeStack:
    started_s = 1.0

    def __init__(self, root: Path, log: Any) -> None:
        pass

    def __enter__(self) -> FakeStack:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def pinned_example(self, *args: Any, **kwargs: Any) -> Path:
        return Path("/nonexistent")


def test_a_failed_run_is_listed_and_left_out_of_the_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flows = iter([FlowError("job 1 ended Unverified (0 accept, 0 reject), not Accepted"), "ok"])

    def flow(stack: Any, settings: Any, narrator: Any) -> Any:
        outcome = next(flows)
        if isinstance(outcome, Exception):
            raise outcome
        return SimpleNamespace(market_s=22.0)

    figures = {
        "market_s": 22.0,
        "direct_s": 20.0,
        "overhead_ratio": 1.1,
        "fixed_overhead_s": 2.0,
        "speed_match": 1.0,
    }
    monkeypatch.setattr(e2e, "DemoStack", FakeStack)
    monkeypatch.setattr(e2e, "run_direct", lambda job_dir: (20.0, 20.0))
    monkeypatch.setattr(e2e, "run_flow", flow)
    monkeypatch.setattr(e2e, "figures_of", lambda direct, result: dict(figures))
    monkeypatch.setattr(e2e, "settlement", lambda stack, result: {})
    monkeypatch.setattr(e2e, "SPREAD", ("overhead_ratio",))
    output = tmp_path / "e2e.json"

    assert e2e.main(["--runs", "2", "--root", str(tmp_path), "--output", str(output)]) == 0

    document = json.loads(output.read_text())
    assert [failed["run"] for failed in document["failed_runs"]] == [1]
    assert "Unverified" in document["failed_runs"][0]["error"]
    assert len(document["runs"]) == 1 and document["figures"]["overhead_ratio"] == 1.1
    assert document["met"] == {"overhead_ratio": True, "fixed_overhead_s": True}
