"""The jobs a chaos run posts: short digits schedules and sleep-bound jobs, spread over the posting window.

The requester (dev account 1) writes each bundle to the stack's content store and posts it straight to
anvil, so posting itself goes on whatever the faults do to the nodes and the gateway; a post that fails
is tried again (up to three times) and counted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from chain import ChainError, JobId, MarketClient
from crowdcompute.demo.example_jobs import RUNTIME_IMAGE, pin_example, pin_example_as_is
from crowdcompute.requester import RequesterError, submit_job
from jobs.store import EmbeddedStore

__all__ = ["JobMix", "JobPoster", "PostedRecord", "prepare_jobs"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobMix:
    """What is posted: every `digits_every`-th job is a short digits run, the others sleep."""

    count: int = 30
    digits_every: int = 2
    digits_interval: int = 20  # steps per segment
    digits_segments: int = 6
    sleep_s: float = 3.0
    # The voting window, in blocks; the appeal window is as long. The devnet mines a block a second and one
    # per transaction, so under the run's traffic 20 blocks last ~10 s: a replay queued on busy cores misses
    # it (its seat stays silent, the job may end Unverified). A wider window would save those seats, but
    # every job with a silent seat waits out both windows, and that wait is what the run's tail is made of.
    verify_blocks: int = 20
    run_timeout_s: int = 150


@dataclass(frozen=True)
class PostedRecord:
    job_id: JobId
    kind: str
    posted_s: float  # seconds after the run's origin


def prepare_jobs(jobs_dir: Path, image_id: str, mix: JobMix, *, image: str | None = None) -> dict[str, Path]:
    """The two pinned job folders the run posts copies of (naming `image` instead of the examples' tag)."""
    digits = pin_example(
        "digits_mlp",
        jobs_dir / "digits",
        image_id=image_id,
        interval=mix.digits_interval,
        segments=mix.digits_segments,
    )
    sleep = pin_example_as_is("sleep", jobs_dir / "sleep", image_id=image_id)
    manifest = sleep / "job.toml"
    manifest.write_text(manifest.read_text().replace('SLEEP_S = "3"', f'SLEEP_S = "{mix.sleep_s:g}"'))
    if image is not None:
        for folder in (digits, sleep):
            manifest = folder / "job.toml"
            manifest.write_text(
                manifest.read_text().replace(f'image = "{RUNTIME_IMAGE}"', f'image = "{image}"')
            )
    return {"digits": digits, "sleep": sleep}


@dataclass
class JobPoster:
    market: MarketClient
    store_dir: Path
    folders: dict[str, Path]
    mix: JobMix
    post_s: float
    say: Callable[[str], None] = lambda _line: None
    posted: list[PostedRecord] = field(default_factory=list)
    retries: int = 0
    failures: list[str] = field(default_factory=list)
    _thread: threading.Thread | None = None

    def kind_of(self, index: int) -> str:
        return "digits" if index % self.mix.digits_every == 0 else "sleep"

    def start(self, origin: float) -> JobPoster:
        self._thread = threading.Thread(target=self._run, args=(origin,), name="chaos-poster", daemon=True)
        self._thread.start()
        return self

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def _run(self, origin: float) -> None:
        store = EmbeddedStore(self.store_dir, fsync=False)
        gap = self.post_s / max(1, self.mix.count)
        for index in range(self.mix.count):
            delay = origin + index * gap - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            kind = self.kind_of(index)
            job_id = self._post(store, kind)
            if job_id is not None:
                self.posted.append(PostedRecord(job_id, kind, round(time.monotonic() - origin, 2)))

    def _post(self, store: EmbeddedStore, kind: str) -> JobId | None:
        for attempt in range(3):
            try:
                submitted = submit_job(
                    self.market,
                    self.folders[kind],
                    store=store,
                    force=True,
                    verify_blocks=self.mix.verify_blocks,
                    run_timeout=self.mix.run_timeout_s,
                )
            except (RequesterError, ChainError, OSError) as exc:
                self.retries += attempt < 2
                log.warning("posting a %s job failed (try %d): %s", kind, attempt + 1, exc)
                last = f"{kind}: {exc}"
                time.sleep(1.0)
                continue
            self.say(f"posted job {submitted.job_id} ({kind})")
            return submitted.job_id
        self.failures.append(last)
        return None
