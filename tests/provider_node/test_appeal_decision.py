"""`settle.Finalizer`: the provider node appeals a round that rejected its result, in the appeal window,
within its bond limit (default: the job's budget), and only then. The market and the votes are stand-ins;
the chain test of the whole appeal is tests/validator/test_appeals.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from chain import (
    ChainError,
    ContractRevert,
    JobId,
    JobStatus,
    Outcome,
    SignedVote,
    VerificationMode,
    Wei,
    appeal_window,
    tokens,
)
from gateway_protocol import VoteRelayError
from jobs.cid import Cid
from provider_node.settle import Finalizer
from provider_node.state import JobRecord, Phase, StateStore

JOB = JobId(9)
SUBMIT_BLOCK = 200
VERIFY_BLOCKS = 10
BUDGET = tokens(10)
OPENS, CLOSES = appeal_window(SUBMIT_BLOCK, VERIFY_BLOCKS)
REJECTS = [
    SignedVote.from_json(
        {
            "job_id": JOB,
            "seat": seat,
            "validator": "0x" + "88" * 20,
            "approve": False,
            "evidence": {
                "segment": 1,
                "committed_digest": "0x" + "aa" * 32,
                "recomputed_digest": "0x" + "bb" * 32,
            },
            "r": "0x" + "cd" * 32,
            "vs": "0x" + "ef" * 32,
        }
    )
    for seat in range(3)
]


class Market:
    def __init__(self, decided: Outcome, bond: int) -> None:
        self.decided = decided
        self.bond = bond
        self.head = OPENS - 1  # the appeal lands in the window's first block
        self.round = 0
        self.appeals: list[list[SignedVote]] = []
        self.fails: ChainError | None = None
        self.rpc = SimpleNamespace(block_number=lambda: self.head)

    def job(self, job_id: JobId) -> Any:
        state = SimpleNamespace(attempts=1, round=self.round, submit_block=SUBMIT_BLOCK)
        spec = SimpleNamespace(
            mode=VerificationMode.SEGMENTS, verify_blocks=VERIFY_BLOCKS, committee_size=3, budget=BUDGET
        )
        return SimpleNamespace(
            status=JobStatus.SUBMITTED, job=SimpleNamespace(state=state, spec=spec), outcome=None
        )

    def round_decision(self, job_id: JobId, votes: Sequence[SignedVote]) -> Outcome:
        return self.decided

    def appeal_bond(self, job_id: JobId) -> Wei:
        return Wei(self.bond)

    def appeal(self, job_id: JobId, votes: Sequence[SignedVote]) -> Any:
        if self.fails is not None:
            raise self.fails
        self.appeals.append(list(votes))
        self.round += 1
        return SimpleNamespace(tx=SimpleNamespace(tx_hash="0xfeed"), bond=self.bond, round=self.round)

    def finalize(self, job_id: JobId, votes: Sequence[SignedVote]) -> Any:
        raise AssertionError("nothing is finalized in the appeal window")


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateStore]:
    store = StateStore(tmp_path / "state.db")
    store.put(
        JobRecord(job_id=JOB, attempt=1, phase=Phase.SUBMITTED, bundle_cid=Cid.from_chain(b"\x01" * 32, 0x55))
    )
    yield store
    store.close()


def finalizer(state: StateStore, stand_in: Market, limit: int | None, votes: Any) -> Finalizer:
    return Finalizer(stand_in, state, None, 3, max_appeal_bond=limit, votes=votes)  # type: ignore[arg-type]


def test_a_rejected_result_is_appealed_with_the_rounds_votes_within_the_budget(
    state: StateStore, caplog: pytest.LogCaptureFixture
) -> None:
    market = Market(Outcome.REJECTED, bond=int(BUDGET))
    asked: list[tuple[JobId, int]] = []

    def votes(job_id: JobId, round_: int) -> list[SignedVote]:
        asked.append((job_id, round_))
        return REJECTS

    with caplog.at_level(logging.WARNING):
        finalizer(state, market, None, votes).settle()
    assert market.appeals == [REJECTS] and asked == [(JOB, 0)]
    assert (
        "round 0 REJECTED this node's result (3 reject vote(s))" in caplog.text and "APPEALED" in caplog.text
    )


def test_no_appeal_when_accepted_above_the_limit_turned_off_or_before_the_window(
    state: StateStore, caplog: pytest.LogCaptureFixture
) -> None:
    accepted = Market(Outcome.ACCEPTED, bond=1)
    finalizer(state, accepted, None, lambda job_id, round_: REJECTS).settle()
    costly = Market(Outcome.REJECTED, bond=int(BUDGET) + 1)  # the default limit is the job's budget
    with caplog.at_level(logging.WARNING):
        finalizer(state, costly, None, lambda job_id, round_: REJECTS).settle()
    assert "above the limit" in caplog.text and "not appealing" in caplog.text
    limited = Market(Outcome.REJECTED, bond=5)
    finalizer(state, limited, 4, lambda job_id, round_: REJECTS).settle()
    off = Market(Outcome.REJECTED, bond=1)
    never: list[int] = []
    finalizer(state, off, 0, lambda job_id, round_: never.append(round_)).settle()
    early = Market(Outcome.REJECTED, bond=1)
    early.head = OPENS - 2  # still voting
    finalizer(state, early, None, lambda job_id, round_: never.append(round_)).settle()
    assert never == []
    assert accepted.appeals == costly.appeals == limited.appeals == off.appeals == early.appeals == []


def test_without_the_rounds_votes_there_is_no_appeal_and_it_says_why(
    state: StateStore, caplog: pytest.LogCaptureFixture
) -> None:
    market = Market(Outcome.REJECTED, bond=1)

    def refused(job_id: JobId, round_: int) -> list[SignedVote]:
        raise VoteRelayError(400, "this gateway relays the first round's votes only")

    with caplog.at_level(logging.WARNING):
        finalizer(state, market, None, refused).settle()
        finalizer(state, market, None, None).settle()
    assert "cannot tell whether the round rejected its result" in caplog.text
    assert "without a gateway this node cannot read round 0's votes" in caplog.text
    assert market.appeals == []


def test_an_appeal_that_could_not_be_sent_is_tried_again_and_a_refused_one_is_not(state: StateStore) -> None:
    refused = Market(Outcome.REJECTED, bond=1)
    refused.fails = ContractRevert("AppealNotOpen", {}, "the appeal window is blocks 212..221")
    # Until the round is judged the node looks again at every block of the appeal window, whether it finalizes
    # jobs itself (finalize_after_blocks 3, the default) or leaves that to others (None).
    node = Finalizer(refused, state, None, 3, votes=lambda job_id, round_: REJECTS)  # type: ignore[arg-type]
    node.settle()
    refused.fails = None
    refused.head += 1
    node.settle()
    assert refused.appeals == [], "a refusal is final for the round"
    unsent = Market(Outcome.REJECTED, bond=1)
    unsent.fails = ChainError("connection refused")
    node = Finalizer(unsent, state, None, 3, votes=lambda job_id, round_: REJECTS)  # type: ignore[arg-type]
    node.settle()
    unsent.fails = None
    unsent.head += 1
    node.settle()
    assert unsent.appeals == [REJECTS], "sent at the next block, still in the window"


def test_votes_not_revealed_yet_are_asked_for_again_at_the_next_block(state: StateStore) -> None:
    market = Market(Outcome.REJECTED, bond=1)
    revealed: list[list[SignedVote] | None] = [None, REJECTS]
    node = Finalizer(market, state, None, 3, votes=lambda job_id, round_: revealed.pop(0))  # type: ignore[arg-type]
    node.settle()
    assert market.appeals == [], "nothing to judge yet"
    market.head += 1
    node.settle()
    assert market.appeals == [REJECTS], "judged and appealed at the next block, still in the window"
