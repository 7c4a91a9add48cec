"""How long the validator's idle loop waits before it looks again (`ValidatorNode._idle_wait_s`): a whole poll
with nothing open, a moment while a submission waits for its seed block (its seats are known the moment the
block is: waiting a whole poll then delays every vote of the committee by it), a few seconds while a delivered
vote waits for its job to settle. The loop itself, with a real chain, is `test_run_loop.py`'s."""

from __future__ import annotations

from pathlib import Path

import pytest

from chain import JobId
from validator.daemon import ValidatorNode
from validator.state import Phase, Verification, VerificationStore

POLL_S = 60.0


def idle_wait_with(tmp_path: Path, *phases: Phase) -> float:
    """The idle wait of a node (polling every minute) whose state holds one record in each of `phases`."""
    node = ValidatorNode.__new__(ValidatorNode)  # only its state and poll interval are read
    node.state = VerificationStore(tmp_path / "state.db")
    node._poll_interval_s = POLL_S
    try:
        for number, phase in enumerate(phases, start=1):
            node.state.put(Verification(JobId(number), 0, phase, submit_block=10, last_block=21))
        return node._idle_wait_s()
    finally:
        node.state.close()


@pytest.mark.parametrize(
    ("phases", "longest"),
    [
        ((), POLL_S),
        ((Phase.FINALIZED, Phase.ABSTAINED), POLL_S),
        ((Phase.VOTED,), 2.0),
        ((Phase.DRAWING,), 0.05),
        ((Phase.VOTED, Phase.DRAWING), 0.05),
    ],
)
def test_idle_wait_is_short_while_a_seed_block_or_a_settlement_is_awaited(
    tmp_path: Path, phases: tuple[Phase, ...], longest: float
) -> None:
    assert idle_wait_with(tmp_path, *phases) == longest
