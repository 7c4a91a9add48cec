"""The chaos run's requester (`SettleWatcher`) on the real chain and a real gateway: it accepts a unanimous
verdict without waiting out the appeal window, writes down the job's timeline, and rides out a gateway that
is stopped (a listener that never answers, as SIGSTOP leaves it) or killed (nothing listening)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chain import JobId, JobStatus, MarketClient, settle_block
from crowdcompute.chaos.jobs import PostedRecord
from crowdcompute.chaos.settle import SettleWatcher
from jobs.store import EmbeddedStore
from tests.requester.requester_jobs import wait_for
from tests.requester.test_requester_appeal import VERIFY_BLOCKS, verified_job

pytestmark = pytest.mark.slow


@pytest.fixture
def stalled_url() -> Iterator[str]:
    """A gateway that takes connections and never answers (its process stopped)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


@pytest.fixture
def dead_url() -> str:
    """A gateway that was killed: nothing listens on its port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_the_chaos_requester_accepts_a_unanimous_verdict_at_once_and_notes_the_job_timeline(
    requester: MarketClient,
    provider: MarketClient,
    validators: list[MarketClient],
    store: EmbeddedStore,
    gateway_url: str,
    tmp_path: Path,
) -> None:
    job_id = JobId(verified_job(requester, provider, validators, store, gateway_url, tmp_path))
    submit_block = requester.job(job_id).job.state.submit_block
    posted = [PostedRecord(job_id, "sleep", 0.0)]
    watcher = SettleWatcher(requester, gateway_url, time.monotonic(), lambda: posted, poll_s=0.1)

    def settled() -> bool:
        watcher.tick()
        return watcher.all_closed([job_id])

    wait_for(settled, "the watcher to settle the job")
    assert requester.job(job_id).outcome is not None and requester.status_of(job_id) == JobStatus.CLOSED
    assert requester.rpc.block_number() <= settle_block(submit_block, VERIFY_BLOCKS, 0), "before the window"
    (line,) = watcher.timeline()
    assert line["state"] == "Accepted" and line["accepted_early"] is True
    assert line["claimed_s"] is not None and line["submitted_s"] is not None
    assert line["closed_s"] is not None and line["closed_s"] >= line["submitted_s"]
    assert watcher.accepted_early() == 1 and watcher.errors == 0


def test_the_chaos_requester_rides_out_a_stopped_and_a_killed_gateway(
    requester: MarketClient,
    provider: MarketClient,
    validators: list[MarketClient],
    store: EmbeddedStore,
    gateway_url: str,
    stalled_url: str,
    dead_url: str,
    tmp_path: Path,
) -> None:
    job_id = JobId(verified_job(requester, provider, validators, store, gateway_url, tmp_path))
    posted = [PostedRecord(job_id, "digits", 0.0)]
    watcher = SettleWatcher(
        requester, stalled_url, time.monotonic(), lambda: posted, poll_s=0.1, gateway_timeout_s=0.5
    )

    watcher.tick()  # the stopped gateway: the tick gives up on it and returns
    watcher.gateway_url = dead_url
    watcher.tick()  # the killed one: refused at once
    assert requester.status_of(job_id) == JobStatus.SUBMITTED, "nothing settles without the votes"
    (line,) = watcher.timeline()
    assert line["state"] == "Submitted" and line["closed_s"] is None

    watcher.gateway_url = gateway_url  # the gateway is back (the same URL in a chaos run)
    watcher.start()
    try:
        wait_for(
            lambda: watcher.all_closed([job_id]), "the watcher to settle the job once the gateway is back"
        )
    finally:
        watcher.stop()
    assert watcher.timeline()[0]["accepted_early"] is True and watcher.errors == 0
