"""`fetch_votes(round_=N)`: asks the gateway for one committee round's votes and never takes another round's
for them (a gateway that relays no appeal round answers the round it has)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from gateway_protocol.votes import ROUND_NOT_RELAYED, VoteRelayError, fetch_votes


def vote(seat: int, round_: int) -> dict[str, Any]:
    return {
        "job_id": 4,
        "seat": seat,
        "validator": "0x" + "11" * 20,
        "approve": True,
        "evidence": {
            "segment": 0,
            "committed_digest": "0x" + "aa" * 32,
            "recomputed_digest": "0x" + "bb" * 32,
        },
        "r": "0x" + "cd" * 32,
        "vs": "0x" + "ef" * 32,
        "round": round_,
    }


class Answer:
    def __init__(self, votes: list[dict[str, Any]]) -> None:
        self.status_code = 200
        self._votes = votes

    def json(self) -> dict[str, Any]:
        return {"votes": self._votes}


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {"answer": []}

    def get(url: str, params: dict[str, str] | None = None, timeout: float = 0) -> Answer:
        seen["url"], seen["params"] = url, params
        return Answer(seen["answer"])

    monkeypatch.setattr(requests, "get", get)
    return seen


def test_a_round_is_asked_for_and_only_its_votes_are_kept(gateway: dict[str, Any]) -> None:
    gateway["answer"] = [vote(0, 1), vote(1, 1), vote(2, 0)]
    votes = fetch_votes("http://gw", 4, round_=1)
    assert gateway["url"] == "http://gw/jobs/4/votes" and gateway["params"] == {"round": "1"}
    assert votes is not None and [(v.seat, v.round) for v in votes] == [(0, 1), (1, 1)]
    assert fetch_votes("http://gw", 4) is not None and gateway["params"] == {}


def test_another_rounds_votes_are_refused_for_good(gateway: dict[str, Any]) -> None:
    gateway["answer"] = [vote(0, 0), vote(1, 0)]
    with pytest.raises(VoteRelayError) as refused:
        fetch_votes("http://gw", 4, round_=1)
    assert refused.value.code == ROUND_NOT_RELAYED and not refused.value.retryable
    assert "does not relay this round" in str(refused.value)
    gateway["answer"] = []
    assert fetch_votes("http://gw", 4, round_=1) == [], "no vote at all is an answer"
