"""The demo's follow loop once the result is in (`crowdcompute.demo.flow._follow`): the requester looks for
a unanimous acceptance before every status read, and reads briskly, so the job is Accepted within a moment of
its last vote (bench/e2e.py measures up to it). Without a chain: the stack, the market and the gateway are
stand-ins that count what the loop asks of them."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from chain import JobId, JobStatus
from crowdcompute.demo import flow
from crowdcompute.demo.flow import ACCEPT_POLL_S, FlowSettings
from crowdcompute.requester import WaitTimeout


def test_votes_are_looked_for_before_each_brisk_status_read(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, float, float]] = []
    closed = SimpleNamespace(status=JobStatus.CLOSED)

    def accept(market: Any, job_id: JobId, gateway_url: str) -> None:
        calls.append(("accept", 0.0, 0.0))

    def wait(
        market: Any, job_id: JobId, until: Any, *, timeout_s: float, poll_s: float, on_change: Any
    ) -> Any:
        calls.append(("wait", timeout_s, poll_s))
        if len(calls) < 6:
            raise WaitTimeout("still submitted", JobStatus.SUBMITTED)
        return closed

    monkeypatch.setattr(flow, "accept_unanimous", accept)
    monkeypatch.setattr(flow, "wait_for_status", wait)
    stack = SimpleNamespace(check=lambda: None, gateway_url="http://127.0.0.1:1")
    follower = SimpleNamespace(status=JobStatus.SUBMITTED, draw=lambda job_id: None)

    view = flow._follow(stack, object(), JobId(1), follower, FlowSettings())  # type: ignore[arg-type]

    assert view is closed
    assert [name for name, _, _ in calls] == ["accept", "wait"] * 3
    assert ACCEPT_POLL_S <= 0.1
    assert all(timeout == poll == ACCEPT_POLL_S for name, timeout, poll in calls if name == "wait")
