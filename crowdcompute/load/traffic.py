"""The load bench's threads: the poster, the chain watcher, the requester's early acceptance, a sampler.

* `Poster` posts one prepared spec `count` times at an even rate from one requester account (one thread
  per account keeps its nonces in order); a post that falls behind its slot goes at once.
* `ChainWatcher` reads the market's events (claimed, submitted, finalized, expired, cancelled) and marks
  each job's timeline when it first sees them.
* `Accepter` plays the requester: a submitted job whose committee approved unanimously is settled at once
  (`accept_unanimous`) instead of waiting out the appeal window, as `crowdcompute job` does.
* `GatewaySampler` times `GET /jobs` at a fixed rate while all this runs.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import requests

from chain import ChainError, EventReader, JobId, JobSpec, MarketClient, Outcome, PayWith
from crowdcompute.load.figures import Timelines
from crowdcompute.requester.accept import accept_unanimous
from gateway_protocol.votes import VoteRelayError, fetch_votes

__all__ = ["Accepter", "ChainWatcher", "GatewaySampler", "Poster"]

log = logging.getLogger(__name__)

WATCHED = ("JobClaimed", "ResultSubmitted", "JobFinalized", "JobExpired", "JobCancelled")


class _Loop:
    """A daemon thread running `_tick` every `interval_s` until stopped; a tick's error is logged, counted."""

    interval_s = 0.2
    name = "load"

    def __init__(self) -> None:
        self.stop_event = threading.Event()
        self.errors = 0
        self._thread: threading.Thread | None = None

    def start(self) -> _Loop:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self.stop_event.is_set():
            try:
                self._tick()
            except (ChainError, httpx.HTTPError, OSError) as exc:
                self.errors += 1
                log.warning("%s: %s", self.name, exc)
            next_at = max(next_at + self.interval_s, time.monotonic())
            self.stop_event.wait(max(0.0, next_at - time.monotonic()))

    def _tick(self) -> None:
        raise NotImplementedError


@dataclass
class Poster:
    """Posts `spec` `count` times over `post_s` seconds (see the module docstring)."""

    market: MarketClient
    spec: JobSpec
    count: int
    post_s: float
    timelines: Timelines
    clock: Callable[[], float]
    workers: int = 4  # posts in flight at once: each waits for its block
    lag_s: list[float] = field(default_factory=list)  # how late each post was mined after its slot
    failures: list[str] = field(default_factory=list)
    _thread: threading.Thread | None = None

    def start(self) -> Poster:
        self._thread = threading.Thread(target=self._run, name="load-poster", daemon=True)
        self._thread.start()
        return self

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        gap = self.post_s / max(1, self.count)
        with ThreadPoolExecutor(self.workers, thread_name_prefix="load-post") as pool:
            for index in range(self.count):
                slot = index * gap
                delay = slot - self.clock()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(self._post, index, slot)

    def _post(self, index: int, slot: float) -> None:
        # One account, several threads: the market client's sender hands out its nonces in order.
        try:
            posted = self.market.post_job(self.spec, pay=PayWith.ALLOWANCE)
        except ChainError as exc:
            self.failures.append(f"post {index}: {exc}")
            log.warning("posting job %d of %d failed: %s", index + 1, self.count, exc)
            return
        now = self.clock()
        self.timelines.posted(posted.job_id, now)
        self.lag_s.append(max(0.0, now - slot))


class ChainWatcher(_Loop):
    """Marks timelines from the market's events (see the module docstring)."""

    name = "load-watcher"

    def __init__(
        self, market: MarketClient, timelines: Timelines, clock: Callable[[], float], *, start_block: int
    ) -> None:
        super().__init__()
        self.timelines = timelines
        self.clock = clock
        self.submitted: queue.SimpleQueue[JobId] = queue.SimpleQueue()  # in the order seen, for the accepter
        self.reader = EventReader(
            market.rpc, market.address, market.codec, WATCHED, start_block=start_block, batch_blocks=500
        )
        self.interval_s = 0.1

    def _tick(self) -> None:
        while True:
            batch = self.reader.poll()
            now = self.clock()
            for event in batch.events:
                job_id = JobId(int(event.args["jobId"]))
                if event.name == "JobClaimed":
                    self.timelines.claimed(job_id, now)
                elif event.name == "ResultSubmitted":
                    self.timelines.submitted(job_id, now)
                    self.submitted.put(job_id)
                elif event.name == "JobFinalized":
                    self.timelines.settled(job_id, now, Outcome(int(event.args["outcome"])).name.lower())
                else:
                    self.timelines.settled(job_id, now, event.name.removeprefix("Job").lower())
            if batch.empty_range or batch.to_block >= self.reader.safe_head():
                return


class Accepter(_Loop):
    """Settles unanimously accepted jobs as their requester (see the module docstring)."""

    name = "load-accepter"

    def __init__(
        self,
        market: MarketClient,
        watcher: ChainWatcher,
        timelines: Timelines,
        gateway_url: str,
        *,
        workers: int = 4,
    ) -> None:
        super().__init__()
        self.market = market
        self.watcher = watcher
        self.timelines = timelines
        self.gateway_url = gateway_url
        self.accepted = 0
        self.pending: list[JobId] = []
        self.in_flight: set[JobId] = set()
        self.next_try: dict[JobId, float] = {}
        self.retry_s = 0.5
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="load-accept")
        self.interval_s = 0.2

    def _tick(self) -> None:
        while not self.watcher.submitted.empty():
            self.pending.append(self.watcher.submitted.get())
        self.pending = [j for j in self.pending if self.timelines.jobs[j].settled_s is None]
        now = time.monotonic()
        for job_id in self.pending:
            if job_id in self.in_flight or self.timelines.jobs[job_id].posted_s is None:
                continue
            if self.next_try.get(job_id, 0.0) <= now:  # the votes take a block or two: no busier than this
                self.next_try[job_id] = now + self.retry_s
                self.in_flight.add(job_id)
                self.pool.submit(self._accept, job_id)

    def _accept(self, job_id: JobId) -> None:
        # Each waits for its block; several at once keep pace with the posts (the sender orders nonces).
        try:
            # One GET tells whether the votes are revealed yet; only then is the chain read and written.
            if fetch_votes(self.gateway_url, job_id, 5.0) is None:
                return
            if accept_unanimous(self.market, job_id, self.gateway_url) is not None:
                self.accepted += 1
        except (VoteRelayError, requests.RequestException) as exc:
            log.debug("job %d: the votes cannot be read yet (%s)", job_id, exc)
        except ChainError as exc:
            self.errors += 1
            log.warning("job %d: the early acceptance failed: %s", job_id, exc)
        finally:
            self.in_flight.discard(job_id)

    def stop(self) -> None:
        super().stop()
        self.pool.shutdown(wait=True, cancel_futures=True)


class GatewaySampler(_Loop):
    """Times `GET {gateway}/jobs?limit=50` every 1/`rate` seconds (see the module docstring)."""

    name = "load-gateway-sampler"

    def __init__(self, gateway_url: str, rate_per_s: float) -> None:
        super().__init__()
        self.interval_s = 1.0 / rate_per_s
        self.client = httpx.Client(base_url=gateway_url, timeout=10.0)
        self.latencies_s: list[float] = []
        self.failed = 0

    def _tick(self) -> None:
        began = time.perf_counter()
        try:
            response = self.client.get("/jobs", params={"limit": 50})
        except httpx.HTTPError:
            self.failed += 1
            raise
        elapsed = time.perf_counter() - began
        if response.status_code == 200:
            self.latencies_s.append(elapsed)
        else:
            self.failed += 1

    def stop(self) -> None:
        super().stop()
        self.client.close()
