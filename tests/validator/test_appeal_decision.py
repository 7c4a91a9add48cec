"""`ballot.Settler`: a validator whose vote lost a round appeals it in the appeal window, within its bond
limit, and only then. The market and the relay are stand-ins (what the Settler asks of them is small); the
chain test of an appeal is test_appeals.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from chain import ContractRevert, JobId, JobStatus, Outcome, SignedVote, Wei, appeal_window
from validator.ballot import Settler
from validator.config import ValidatorConfig
from validator.relay import RelayRefused
from validator.state import Phase, Verification, VerificationStore

JOB = JobId(5)
SUBMIT_BLOCK = 100
VERIFY_BLOCKS = 10
ME = "0x" + "77" * 20
OTHER = "0x" + "88" * 20
OPENS, CLOSES = appeal_window(SUBMIT_BLOCK, VERIFY_BLOCKS)


def vote(seat: int, validator: str, approve: bool, round_: int = 0) -> dict[str, Any]:
    return {
        "job_id": JOB,
        "seat": seat,
        "validator": validator,
        "approve": approve,
        "evidence": {
            "segment": 0,
            "committed_digest": "0x" + "aa" * 32,
            "recomputed_digest": "0x" + "bb" * 32,
        },
        "r": "0x" + "cd" * 32,
        "vs": "0x" + "ef" * 32,
        "round": round_,
    }


class Market:
    """What the Settler reads and sends, scripted: the round's decision is `decided`."""

    def __init__(self, decided: Outcome, bond: int) -> None:
        self.decided = decided
        self.bond = bond
        self.head = OPENS
        self.round = 0
        self.appeals: list[list[SignedVote]] = []
        self.finalized: list[list[SignedVote]] = []
        self.refuse: ContractRevert | None = None
        self.rpc = SimpleNamespace(block_number=lambda: self.head)

    def job(self, job_id: JobId) -> Any:
        state = SimpleNamespace(attempts=1, round=self.round, submit_block=SUBMIT_BLOCK)
        return SimpleNamespace(status=JobStatus.SUBMITTED, job=SimpleNamespace(state=state))

    def round_decision(self, job_id: JobId, votes: Sequence[SignedVote]) -> Outcome:
        return self.decided

    def appeal_bond(self, job_id: JobId) -> Wei:
        return Wei(self.bond)

    def appeal(self, job_id: JobId, votes: Sequence[SignedVote]) -> Any:
        if self.refuse is not None:
            raise self.refuse
        self.appeals.append(list(votes))
        self.round += 1
        return SimpleNamespace(tx=SimpleNamespace(tx_hash="0xabc"), bond=self.bond, round=self.round)

    def finalize(self, job_id: JobId, votes: Sequence[SignedVote]) -> Any:
        assert self.head >= CLOSES, "no finalize in the appeal window"
        self.finalized.append(list(votes))
        return SimpleNamespace(outcome=self.decided, accepts=1, rejects=len(votes) - 1)


class Relay:
    url = "memory://votes"

    def __init__(self, votes: list[SignedVote] | None, refuse: bool = False) -> None:
        self.votes = votes
        self.refuse = refuse
        self.asked: list[tuple[JobId, int]] = []

    def deliver(self, vote: SignedVote) -> None:
        raise AssertionError("the Settler delivers nothing")

    def revealed(self, job_id: JobId, round_: int = 0) -> Sequence[SignedVote] | None:
        self.asked.append((job_id, round_))
        if self.refuse:
            raise RelayRefused("round refused", status=400)
        return self.votes


@pytest.fixture
def state(tmp_path: Path) -> Iterator[VerificationStore]:
    store = VerificationStore(tmp_path / "state.db")
    store.put(
        Verification(
            job_id=JOB,
            attempt=1,
            phase=Phase.VOTED,
            seats=[0],
            submit_block=SUBMIT_BLOCK,
            last_block=SUBMIT_BLOCK + 1 + VERIFY_BLOCKS,
            approve=True,
            reason="replayed",
            votes=[vote(0, ME, True)],
        )
    )
    yield store
    store.close()


def settler(state: VerificationStore, stand_in: Market, votes: Relay, limit: int, tmp_path: Path) -> Settler:
    """(Parameters named apart from the chain fixtures `market` and `relay`: these are stand-ins.)"""
    config = ValidatorConfig(data_dir=tmp_path, max_appeal_bond=limit)
    return Settler(stand_in, state, config, votes)  # type: ignore[arg-type]


OTHERS_REJECT = [SignedVote.from_json(vote(1, OTHER, False)), SignedVote.from_json(vote(2, OTHER, False))]


def test_a_validator_whose_vote_lost_appeals_with_the_rounds_votes(
    state: VerificationStore, tmp_path: Path
) -> None:
    market = Market(Outcome.REJECTED, bond=10)
    relay = Relay(OTHERS_REJECT)
    settler(state, market, relay, 10, tmp_path).settle()
    (sent,) = market.appeals
    assert [(v.seat, v.approve) for v in sent] == [(0, True), (1, False), (2, False)], (
        "its own vote revealed too"
    )
    assert relay.asked == [(JOB, 0)]
    record = state.get(JOB, 1, 0)
    assert record is not None and record.appealed == "0xabc"


def test_no_appeal_when_the_vote_won_the_bond_is_too_high_or_appeals_are_off(
    state: VerificationStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    won = Market(Outcome.ACCEPTED, bond=10)
    settler(state, won, Relay(OTHERS_REJECT), 10, tmp_path).settle()
    costly = Market(Outcome.REJECTED, bond=11)
    with caplog.at_level(logging.WARNING):
        settler(state, costly, Relay(OTHERS_REJECT), 10, tmp_path).settle()
    assert "above the limit 10 (--max-appeal-bond): not appealing" in caplog.text
    off = Market(Outcome.REJECTED, bond=1)
    silent = Relay(OTHERS_REJECT)
    settler(state, off, silent, 0, tmp_path).settle()
    assert silent.asked == [], "with no limit set the node never even asks"
    assert won.appeals == costly.appeals == off.appeals == []
    record = state.get(JOB, 1, 0)
    assert record is not None and not record.appealed


def test_no_appeal_outside_the_window_or_without_the_rounds_votes(
    state: VerificationStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    market = Market(Outcome.REJECTED, bond=1)
    early = Relay(OTHERS_REJECT)
    market.head = OPENS - 2  # the vote window is still open
    settler(state, market, early, 10, tmp_path).settle()
    assert early.asked == []
    market.head = OPENS
    with caplog.at_level(logging.WARNING):
        settler(state, market, Relay(None, refuse=True), 10, tmp_path).settle()
    assert "cannot tell whether its vote lost" in caplog.text
    pending = Relay(None)
    settler(state, market, pending, 10, tmp_path).settle()
    assert pending.asked == [(JOB, 0)] and market.appeals == []
    market.head = CLOSES  # the next block is past the appeal window: the decision stands, finalize
    late = Relay(OTHERS_REJECT)
    settler(state, market, late, 10, tmp_path).settle()
    assert market.appeals == [] and len(market.finalized) == 1
    assert late.asked == [(JOB, 0)], "asked once, for the votes to finalize with"


def test_a_refused_appeal_is_logged_and_a_round_already_appealed_is_left_alone(
    state: VerificationStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    market = Market(Outcome.UNVERIFIED, bond=1)
    market.refuse = ContractRevert("AppealNotOpen", {}, "the appeal window is blocks 112..121")
    with caplog.at_level(logging.WARNING):
        settler(state, market, Relay(OTHERS_REJECT), 10, tmp_path).settle()
    assert "the appeal was refused" in caplog.text
    market.refuse = None
    market.round = 1  # someone else appealed: round 0's record waits for the final outcome
    relay = Relay(OTHERS_REJECT)
    settler(state, market, relay, 10, tmp_path).settle()
    assert relay.asked == [] and market.appeals == []
