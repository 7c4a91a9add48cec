"""The chaos run's requester after posting: it settles like a real one and writes down each job's timeline.

`SettleWatcher` runs on its own thread from the first post to the end of the run. Every `poll_s` it reads
each live job from the chain (the requester dials anvil directly, so an RPC cut of the nodes does not
blind it) and

* accepts a unanimous verdict at once (`crowdcompute.requester.accept_unanimous`, as the demo's requester
  does): the requester waives its appeal instead of waiting out the appeal window;
* finalizes with the revealed votes a job the nodes left unsettled `_NODES_FIRST_BLOCKS` past its appeal
  window (every seat-holder down: anyone may finalize);
* expires a claimed job whose provider missed its deadline (as any requester's keeper would), so the job
  reopens for another provider;
* notes when it first saw the job claimed, submitted and closed, and how it closed (`JobTimeline`): where
  a late job spent its time.

The gateway may be killed or stopped (SIGSTOP) at any time: its calls take at most `gateway_timeout_s`,
and once one fails within a tick the rest of that tick leaves the gateway alone. A tick that meets any
other error logs it and the next tick starts afresh: the watcher lives as long as the run.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import requests

from chain import ChainError, JobId, JobStatus, JobView, MarketClient, settle_block
from crowdcompute.chaos.jobs import PostedRecord
from crowdcompute.requester import accept_unanimous, state_of
from gateway_protocol.votes import VoteRelayError, fetch_votes

__all__ = ["JobTimeline", "SettleWatcher"]

log = logging.getLogger(__name__)

# Past a round's appeal window the nodes finalize first (a provider 3 blocks after it); the requester steps in
# only after this many blocks more.
_NODES_FIRST_BLOCKS = 5


@dataclass
class JobTimeline:
    """One job's way through the run, in seconds after the run's origin (None: not seen yet)."""

    job_id: int
    kind: str
    posted_s: float
    claimed_s: float | None = None
    submitted_s: float | None = None
    closed_s: float | None = None
    state: str = "Open"
    attempts: int = 0  # how many times the job was claimed again after an expiry
    accepted_early: bool = False  # the requester settled a unanimous acceptance itself

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SettleWatcher:
    market: MarketClient
    gateway_url: str
    origin: float  # the run's monotonic origin
    posted: Callable[[], list[PostedRecord]]
    poll_s: float = 0.5
    gateway_timeout_s: float = 1.5
    timelines: dict[JobId, JobTimeline] = field(default_factory=dict)
    errors: int = 0
    finalized_late: int = 0
    _stopping: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> SettleWatcher:
        self._thread = threading.Thread(target=self._run, name="chaos-settle", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(30)

    def closed_at(self) -> dict[JobId, float]:
        """Job id -> when the watcher first saw it closed (monotonic)."""
        with self._lock:
            return {
                job_id: self.origin + t.closed_s
                for job_id, t in self.timelines.items()
                if t.closed_s is not None
            }

    def all_closed(self, job_ids: list[JobId]) -> bool:
        closed = self.closed_at()
        return all(job_id in closed for job_id in job_ids)

    def accepted_early(self) -> int:
        with self._lock:
            return sum(t.accepted_early for t in self.timelines.values())

    def timeline(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self.timelines[job_id].to_json() for job_id in sorted(self.timelines)]

    # -- the loop --------------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            began = time.monotonic()
            try:
                self.tick()
            except Exception as exc:  # the watcher outlives whatever one tick meets
                self.errors += 1
                log.warning("settle watcher: %s: %s", type(exc).__name__, exc)
            self._stopping.wait(max(0.0, self.poll_s - (time.monotonic() - began)))

    def tick(self) -> None:
        """One look at every live job: note its state, expire it when overdue, accept it when unanimous."""
        for record in list(self.posted()):
            if record.job_id not in self.timelines:
                with self._lock:
                    self.timelines[record.job_id] = JobTimeline(record.job_id, record.kind, record.posted_s)
        live = [job_id for job_id, t in self.timelines.items() if t.closed_s is None]
        views: dict[JobId, JobView] = {}
        for job_id in live:
            try:
                views[job_id] = self.market.job(job_id)
            except ChainError as exc:
                log.debug("settle watcher: job %d cannot be read now (%s)", job_id, exc)
        for view in views.values():
            self._note(view)
        self._expire_overdue([v for v in views.values() if v.status == JobStatus.CLAIMED])
        gateway_up = True
        for view in views.values():
            if view.status == JobStatus.SUBMITTED and gateway_up:
                gateway_up = self._accept(view)

    def _note(self, view: JobView) -> None:
        now = round(time.monotonic() - self.origin, 2)
        with self._lock:
            line = self.timelines[view.job_id]
            if view.job.state.attempts != line.attempts:  # expired and reopened: a new attempt
                line.attempts = view.job.state.attempts
                line.claimed_s = line.submitted_s = None
            if view.status in (JobStatus.CLAIMED, JobStatus.SUBMITTED) and line.claimed_s is None:
                line.claimed_s = now
            if view.status == JobStatus.SUBMITTED and line.submitted_s is None:
                line.submitted_s = now
            if view.status == JobStatus.CLOSED and line.closed_s is None:
                line.closed_s = now
            line.state = state_of(view)

    def _accept(self, view: JobView) -> bool:
        """Settle the job once its votes are revealed: at once when every seat approved, or as anyone may
        when the nodes left it unsettled past its appeal window. False when the gateway did not answer."""
        job_id = view.job_id
        try:
            votes = fetch_votes(self.gateway_url, job_id, self.gateway_timeout_s, round_=view.job.state.round)
        except requests.RequestException:
            return False  # killed or stopped: leave it alone for the rest of this tick
        except VoteRelayError as exc:
            log.debug("settle watcher: job %d: the votes cannot be read (%s)", job_id, exc)
            return True
        if votes is None:
            return True  # not revealed yet: a seat has not voted and the window is open
        if accept_unanimous(self.market, job_id, self.gateway_url, self.gateway_timeout_s) is not None:
            with self._lock:
                self.timelines[job_id].accepted_early = True
            log.info("job %d: every seat approved: accepted without waiting out the appeal window", job_id)
            return True
        state = view.job.state
        due = settle_block(state.submit_block, view.job.spec.verify_blocks, state.round) + _NODES_FIRST_BLOCKS
        if self.market.rpc.block_number() > due:
            try:
                self.market.finalize(job_id, votes)
                self.finalized_late += 1
                log.info("job %d: nobody finalized it %d blocks after its window: finalized", job_id, due)
            except ChainError as exc:  # settled meanwhile, or the votes changed: the next tick sees
                log.debug("settle watcher: job %d: finalize refused (%s)", job_id, exc)
        return True

    def _expire_overdue(self, claimed: list[JobView]) -> None:
        overdue = [v for v in claimed if v.job.state.deadline > 0]
        if not overdue:
            return
        now = int(self.market.rpc.w3.eth.get_block("latest")["timestamp"])
        for view in overdue:
            if now > view.job.state.deadline:
                with contextlib.suppress(ChainError):
                    self.market.expire_job(view.job_id)
