"""The daemon's own loop (`ValidatorNode.run`), as `crowdcompute validator run` drives it: once its vote
is with the relay and the appeal window has passed, the job is finalized within seconds rather than after the
next idle poll (a node holding a delivered vote looks again every few seconds), and a stop ends an idle
wait at once. Real anvil, contracts and a replay in Docker; a committee of one, so the seat's vote
decides the job. The poll interval is a minute, so waiting for a poll could not pass."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from chain import JobStatus, MarketClient
from tests.chain.market_cast import mine_until_settleable
from tests.validator.cheaters import ScriptedProvider
from tests.validator.relays import MemoryRelay
from tests.validator.seats import submit_to_one_seat
from tests.validator.validator_cast import VerifiableJob

pytestmark = pytest.mark.slow

POLL_S = 60.0


def test_run_settles_right_after_the_appeal_window_and_stops_at_once_while_idle(
    requester: MarketClient,
    digits_job: VerifiableJob,
    provider: ScriptedProvider,
    make_node: Any,
    relay: MemoryRelay,
) -> None:
    job_id, seat = submit_to_one_seat(requester, digits_job.cid, provider)
    node = make_node(seat, poll_interval_s=POLL_S)
    stop = threading.Event()
    loop = threading.Thread(target=node.run, args=(stop,), name="validator-run", daemon=True)
    loop.start()
    voted_at = closed_at = None
    try:
        deadline = time.monotonic() + 180
        while closed_at is None and time.monotonic() < deadline and loop.is_alive():
            view = requester.job(job_id)
            now = time.monotonic()
            if voted_at is None and (relay.held(job_id) or view.status == JobStatus.CLOSED):
                if view.status != JobStatus.CLOSED:
                    mine_until_settleable(requester, job_id)  # voted; nobody appeals: the windows pass
                voted_at = time.monotonic()
            if view.status == JobStatus.CLOSED:
                closed_at = now
            time.sleep(0.05)
    finally:
        stop.set()
        stopping = time.monotonic()
        loop.join(POLL_S)
    stopped_in = time.monotonic() - stopping

    assert voted_at is not None and closed_at is not None, f"job {job_id} was not settled: {view}"
    assert view.outcome is not None and view.outcome.name == "ACCEPTED"
    assert closed_at - voted_at < 10, (
        f"settled {closed_at - voted_at:.1f} s after the vote and the appeal window (poll: {POLL_S:g} s)"
    )
    assert not loop.is_alive() and stopped_in < 5, f"the idle loop took {stopped_in:.1f} s to stop"
