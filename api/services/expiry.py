"""Expiry of bundles no job references: uploaded more than `unreferenced_bundle_ttl_s` ago and named by no
indexed job (as its bundle or its result), they are unpinned, forgotten and their blocks collected.

Run by `BundleSweeper` (a thread of the gateway, every `sweep_interval_s`) and by
`crowdcompute gateway gc`. Content a job references stays pinned: bundles a job points at are skipped,
and results (pinned by `POST /jobs/{id}/results/{cid}`, never recorded as bundles) are never touched.
`crowdcompute store gc` alone only collects blocks no pin reaches, so it never removes either.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from api.db import Database
from jobs.store import ContentStore, NotPinned

__all__ = ["BundleSweeper", "SweepResult", "sweep_expired_bundles"]

log = logging.getLogger(__name__)

_UNREFERENCED = (
    " AND cid NOT IN (SELECT bundle_cid FROM jobs WHERE bundle_cid IS NOT NULL)"
    " AND cid NOT IN (SELECT result_cid FROM jobs WHERE result_cid IS NOT NULL)"
)


@dataclass(frozen=True)
class SweepResult:
    unpinned: tuple[str, ...]
    """The expired bundles' CIDs."""
    blocks_removed: int
    freed_bytes: int | None


def sweep_expired_bundles(
    db: Database,
    store: ContentStore,
    ttl_s: float,
    *,
    now: float | None = None,
    pins_lock: threading.Lock | None = None,
) -> SweepResult:
    """Unpin and forget every bundle uploaded before `now - ttl_s` that no indexed job references, then
    collect unpinned blocks. `pins_lock` is held while a bundle is forgotten and unpinned, so an upload of
    the same content (which holds it too) is either recorded first (and kept) or pins it again after."""
    cutoff = (time.time() if now is None else now) - ttl_s
    candidates = [
        str(row[0])
        for row in db.connection().execute(
            "SELECT cid FROM bundles WHERE uploaded_at < ?" + _UNREFERENCED, (cutoff,)
        )
    ]
    unpinned: list[str] = []
    for cid in candidates:
        with pins_lock or contextlib.nullcontext(), db.write() as conn:
            # Checked again in the deleting transaction: a job indexed meanwhile keeps its bundle.
            gone = conn.execute("DELETE FROM bundles WHERE cid = ?" + _UNREFERENCED, (cid,)).rowcount
            if gone:
                with contextlib.suppress(NotPinned):
                    store.unpin(cid)
                unpinned.append(cid)
    if not unpinned:
        return SweepResult((), 0, 0)
    collected = store.gc()
    log.info(
        "expired %d unreferenced bundles (%d blocks removed)",
        len(unpinned),
        len(collected.removed),
        extra={"cids": unpinned},
    )
    return SweepResult(tuple(unpinned), len(collected.removed), collected.freed_bytes)


class BundleSweeper:
    """Runs `sweep_expired_bundles` every `interval_s` in a daemon thread; failures are logged, not raised."""

    def __init__(
        self,
        db: Database,
        store: Callable[[], ContentStore],
        ttl_s: float,
        interval_s: float,
        pins_lock: threading.Lock,
    ) -> None:
        self._db, self._store, self._ttl_s, self._interval_s = db, store, ttl_s, interval_s
        self._pins_lock = pins_lock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None or self._interval_s <= 0:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="bundle-sweeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                sweep_expired_bundles(self._db, self._store(), self._ttl_s, pins_lock=self._pins_lock)
            except Exception:  # a store or database hiccup: try again next round
                log.exception("sweeping expired bundles failed; retrying in %.0f s", self._interval_s)
