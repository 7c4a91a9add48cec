"""`node_base.appeals.appeal_round`: the bond against the limit, the appeal sent, a refusal told from a chain
that could not be reached. The market is a stand-in; the nodes' own decisions are in
tests/validator/test_appeal_decision.py and tests/provider_node/test_appeal_decision.py."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pytest

from chain import ChainError, ContractRevert, JobId, SignedVote, Wei, tokens
from node_base import AppealLimit, AppealStatus, appeal_round

JOB = JobId(3)
WHAT = "its vote (accepted) lost round 0 (rejected)"
VOTES = [
    SignedVote.from_json(
        {
            "job_id": JOB,
            "seat": 0,
            "validator": "0x" + "88" * 20,
            "approve": False,
            "evidence": {
                "segment": 0,
                "committed_digest": "0x" + "aa" * 32,
                "recomputed_digest": "0x" + "bb" * 32,
            },
            "r": "0x" + "cd" * 32,
            "vs": "0x" + "ef" * 32,
        }
    )
]


class Market:
    def __init__(self, bond: int, fails: Exception | None = None) -> None:
        self.bond = Wei(bond)
        self.fails = fails
        self.appeals: list[tuple[JobId, list[SignedVote]]] = []

    def appeal_bond(self, job_id: JobId) -> Wei:
        return self.bond

    def appeal(self, job_id: JobId, votes: Sequence[SignedVote] = ()) -> Any:
        if self.fails is not None:
            raise self.fails
        self.appeals.append((job_id, list(votes)))
        return SimpleNamespace(bond=self.bond, round=1, tx=SimpleNamespace(tx_hash="0xabc"))


def test_a_bond_within_the_limit_is_paid_and_the_appeal_returned() -> None:
    market = Market(tokens(10))
    attempt = appeal_round(market, JOB, VOTES, AppealLimit(tokens(10)), WHAT)
    assert attempt.status is AppealStatus.APPEALED and not attempt.retryable
    assert market.appeals == [(JOB, VOTES)]
    assert attempt.appealed is not None and attempt.appealed.tx.tx_hash == "0xabc"
    assert attempt.bond == tokens(10)


def test_a_bond_above_the_limit_sends_nothing_and_says_which_flag_to_raise(
    caplog: pytest.LogCaptureFixture,
) -> None:
    market = Market(tokens("12.5"))
    limit = AppealLimit(tokens(10), "this seat's bond: --max-appeal-bond not given")
    with caplog.at_level(logging.WARNING):
        attempt = appeal_round(market, JOB, VOTES, limit, WHAT, unappealed="the provider will be slashed")
    assert attempt.status is AppealStatus.OVER_LIMIT and attempt.appealed is None and not attempt.retryable
    assert market.appeals == []
    (message,) = [record.getMessage() for record in caplog.records]
    assert message.startswith(f"job {JOB}: {WHAT}, but the appeal bond {tokens('12.5')} is above the limit")
    assert "(this seat's bond: --max-appeal-bond not given): not appealing; the provider will be slashed" in (
        message
    )
    assert message.endswith("run the node with --max-appeal-bond 12.5 (tokens) or more")


def test_a_zero_limit_never_appeals() -> None:
    market = Market(1)
    assert appeal_round(market, JOB, VOTES, AppealLimit(Wei(0)), WHAT).status is AppealStatus.OVER_LIMIT
    assert market.appeals == []


def test_a_refused_appeal_is_logged_and_not_worth_retrying(caplog: pytest.LogCaptureFixture) -> None:
    market = Market(1, ContractRevert("AppealNotOpen", {}, "the appeal window is blocks 112..121"))
    with caplog.at_level(logging.WARNING):
        attempt = appeal_round(market, JOB, VOTES, AppealLimit(Wei(1)), WHAT)
    assert attempt.status is AppealStatus.REFUSED and not attempt.retryable and attempt.appealed is None
    assert f"{WHAT}; the appeal was refused: the appeal window is blocks 112..121" in caplog.text


def test_a_chain_that_cannot_be_reached_leaves_the_appeal_to_retry(caplog: pytest.LogCaptureFixture) -> None:
    market = Market(1, ChainError("connection refused"))
    with caplog.at_level(logging.WARNING):
        attempt = appeal_round(market, JOB, VOTES, AppealLimit(Wei(1)), WHAT)
    assert attempt.status is AppealStatus.UNSENT and attempt.retryable and attempt.appealed is None
    assert f"{WHAT}; the appeal could not be sent (connection refused)" in caplog.text


def test_the_log_goes_to_the_callers_logger(caplog: pytest.LogCaptureFixture) -> None:
    mine = logging.getLogger("validator.ballot")
    with caplog.at_level(logging.WARNING):
        appeal_round(Market(2), JOB, VOTES, AppealLimit(Wei(1)), WHAT, log=mine)
    assert [record.name for record in caplog.records] == ["validator.ballot"]
