"""`ballot.Settler`: a validator whose vote lost a round appeals it in the appeal window, within its bond
limit (by default the seat bond it stands to lose), and only then. The market and the relay are stand-ins
(what the Settler asks of them is small); the chain test of an appeal is test_appeals.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import replace
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
    Wei,
    appeal_window,
    seat_bond,
    tokens,
)
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
BUDGET = tokens(60)
SLASH = tokens(10)
SEAT_BOND = [seat_bond(BUDGET, 3, round_, SLASH) for round_ in range(2)]  # round 0: 30 tokens, round 1: 10


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
        self.refuse: ChainError | None = None
        self.rpc = SimpleNamespace(block_number=lambda: self.head)

    def job(self, job_id: JobId) -> Any:
        state = SimpleNamespace(attempts=1, round=self.round, submit_block=SUBMIT_BLOCK)
        spec = SimpleNamespace(budget=BUDGET, committee_size=3)
        return SimpleNamespace(status=JobStatus.SUBMITTED, job=SimpleNamespace(state=state, spec=spec))

    def config(self) -> Any:
        return SimpleNamespace(validator_slash=SLASH)

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


def settler(
    state: VerificationStore, stand_in: Market, votes: Relay, limit: int | None, tmp_path: Path
) -> Settler:
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


def test_the_default_limit_is_none_and_a_negative_one_is_refused(tmp_path: Path) -> None:
    assert ValidatorConfig(data_dir=tmp_path).max_appeal_bond is None
    with pytest.raises(ValueError, match="max_appeal_bond cannot be negative"):
        ValidatorConfig(data_dir=tmp_path, max_appeal_bond=-1)


def test_by_default_a_lost_round_is_appealed_up_to_the_seat_bond_at_stake(
    state: VerificationStore, tmp_path: Path
) -> None:
    assert [tokens(30), tokens(10)] == SEAT_BOND  # budget / 2 seats, then validatorSlash (60 / 16 is less)
    market = Market(Outcome.REJECTED, bond=SEAT_BOND[0])
    settler(state, market, Relay(OTHERS_REJECT), None, tmp_path).settle()
    assert len(market.appeals) == 1
    record = state.get(JOB, 1, 0)
    assert record is not None and record.appealed == "0xabc"


def test_by_default_a_bond_above_the_seat_bond_is_not_paid_and_the_log_names_the_flag(
    state: VerificationStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    market = Market(Outcome.REJECTED, bond=SEAT_BOND[0] + 1)
    with caplog.at_level(logging.WARNING):
        settler(state, market, Relay(OTHERS_REJECT), None, tmp_path).settle()
    assert market.appeals == []
    assert (
        f"above the limit {SEAT_BOND[0]} (a seat's bond in round 0, as --max-appeal-bond is not given)"
        in (caplog.text)
    )
    assert "lose their bond" in caplog.text and "run the node with --max-appeal-bond" in caplog.text


def test_the_default_limit_is_the_seat_bond_of_the_records_round(
    state: VerificationStore, tmp_path: Path
) -> None:
    """Round 1 has 31 seats: its seat bond (validatorSlash here) is below round 0's, and so is the limit."""
    first = state.get(JOB, 1, 0)
    assert first is not None
    state.put(replace(first, round=1, votes=[vote(0, ME, True, round_=1)]))
    market = Market(Outcome.REJECTED, bond=SEAT_BOND[1] + 1)  # within round 0's seat bond, above round 1's
    market.round = 1
    state.update(first, outcome="accepted")  # round 0's record is out of the way
    settler(state, market, Relay(OTHERS_REJECT), None, tmp_path).settle()
    assert market.appeals == []
    market.bond = SEAT_BOND[1]
    fresh = settler(state, market, Relay(OTHERS_REJECT), None, tmp_path)
    fresh.settle()
    assert len(market.appeals) == 1


def test_zero_never_appeals_even_a_bond_the_default_would_pay(
    state: VerificationStore, tmp_path: Path
) -> None:
    market = Market(Outcome.REJECTED, bond=1)
    relay = Relay(OTHERS_REJECT)
    settler(state, market, relay, 0, tmp_path).settle()
    assert market.appeals == [] and relay.asked == []
    settler(state, market, relay, None, tmp_path).settle()
    assert len(market.appeals) == 1


def test_an_appeal_that_could_not_be_sent_is_tried_again_and_a_refused_one_is_not(
    state: VerificationStore, tmp_path: Path
) -> None:
    market = Market(Outcome.REJECTED, bond=1)
    node = settler(state, market, Relay(OTHERS_REJECT), None, tmp_path)
    market.refuse = ContractRevert("AppealNotOpen", {}, "the appeal window is blocks 112..121")
    node.settle()
    market.refuse = None
    node.settle()
    assert market.appeals == [], "a refusal is final for the round"
    again = settler(state, market, Relay(OTHERS_REJECT), None, tmp_path)
    market.refuse = ChainError("connection refused")
    again.settle()
    assert market.appeals == []
    market.refuse = None
    again.settle()
    assert len(market.appeals) == 1, "sent at the next step, still in the window"
