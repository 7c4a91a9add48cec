"""Counting duplicate runs from the engine's container records: the same job attempt finished (exit 0)
by more than one provider container counts; validators' replays, failed tries and other attempts do not."""

from __future__ import annotations

from crowdcompute.chaos.engine import ExitedContainer, duplicate_runs

PROVIDER = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"


def exited(execution: str, code: int = 0, node: str = PROVIDER) -> ExitedContainer:
    return ExitedContainer(f"c-{execution}-{code}-{node[:4]}", node, execution, code)


def test_one_finished_run_per_attempt_is_no_duplicate() -> None:
    records = [
        exited(f"job1-a0-{PROVIDER[2:10]}-t0", code=137),  # killed: tried again
        exited(f"job1-a0-{PROVIDER[2:10]}-t1"),
        exited(f"job1-a1-{PROVIDER[2:10]}-t0"),  # the job reopened: another attempt
        exited("verify-1-0-0xabc-1", node="validator-0xabc"),
        exited("verify-1-0-0xdef-1", node="validator-0xdef"),
    ]
    assert duplicate_runs(records) == {}


def test_an_attempt_finished_twice_is_counted_once_per_extra_run() -> None:
    records = [
        exited(f"job4-a0-{PROVIDER[2:10]}-t0"),
        exited(f"job4-a0-{PROVIDER[2:10]}-t1"),
        exited("job4-a0-90f79bf6-t0", node="0x90f79bf6eb2c4f870365e785982e1f101e93b906"),
    ]
    assert duplicate_runs(records) == {"job4-a0": 2}
