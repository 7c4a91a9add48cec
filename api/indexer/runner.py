"""The indexer's loop: poll a batch, write its rows and the checkpoint in one transaction, repeat.

It runs in a background thread started by the app's lifespan. While the RPC node is down, or before a
deployment exists, it waits with exponential backoff and says why in `status`; the API keeps serving.
On a database shared by several gateway processes (PostgreSQL) only the one holding the database's
indexer lock indexes; the others stand by, try for the lock every `standby_poll_s`, and take over from the
checkpoint in the database when the indexing process dies.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from api.db import Database
from api.indexer.checkpoint import TransactionalCheckpoints, ensure_identity, load_checkpoint, save_checkpoint
from api.indexer.projection import INDEXED_EVENTS, project_batch
from api.indexer.source import MarketSource
from api.indexer.spec_columns import check_spec_columns
from api.settings import Settings
from chain import ChainError, DeploymentNotFound, EventBatch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexerStatus:
    running: bool = False
    last_block: int | None = None
    safe_head: int | None = None
    waiting_for: str | None = None
    """Why the indexer is not following the chain right now (RPC unreachable, no deployment ...)."""
    events_indexed: int = 0
    last_batch_at: float | None = None
    standby: bool = False
    """Another gateway process holds the shared database's indexer lock: this one only serves."""

    @property
    def lag(self) -> int | None:
        if self.safe_head is None:
            return None
        return max(0, self.safe_head - (self.last_block if self.last_block is not None else -1))


SourceFactory = Callable[[Database], MarketSource]


def default_source_factory(settings: Settings) -> SourceFactory:
    def open_source(db: Database) -> MarketSource:
        return MarketSource.open(
            settings.rpc_url,
            settings.chain_id,
            settings.deployments_dir,
            INDEXED_EVENTS,
            TransactionalCheckpoints(db.connection()),
            confirmations=settings.confirmations,
            batch_blocks=settings.indexer_batch_blocks,
            timeout=settings.rpc_timeout_s,
        )

    return open_source


class Indexer:
    """Follows the market's events into the database; `step()` is one batch, `start()` runs it in a thread."""

    def __init__(
        self,
        db: Database,
        source_factory: SourceFactory,
        *,
        poll_interval_s: float = 1.0,
        backoff_initial_s: float = 0.2,
        backoff_max_s: float = 30.0,
        standby_poll_s: float = 2.0,
    ) -> None:
        self.db = db
        self.standby_poll_s = standby_poll_s
        self.source_factory = source_factory
        self.poll_interval_s = poll_interval_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self._source: MarketSource | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._status = IndexerStatus(last_block=load_checkpoint(db.connection()))
        self._status_lock = threading.Lock()

    @property
    def status(self) -> IndexerStatus:
        with self._status_lock:
            return self._status

    def _set_status(self, **changes: object) -> None:
        with self._status_lock:
            self._status = replace(self._status, **changes)  # type: ignore[arg-type]

    def source(self) -> MarketSource:
        if self._source is None:
            check_spec_columns(self.db.connection())
            source = self.source_factory(self.db)
            with self.db.write() as conn:
                if ensure_identity(conn, source.deployment.chain_id, source.deployment.market):
                    source.reader.next_block = source.deployment.block_number
                    self._set_status(last_block=None, events_indexed=0)
            self._source = source
        return self._source

    def step(self) -> EventBatch:
        """Index the next batch; an empty range means the index is at the safe head."""
        source = self.source()
        safe_head = source.reader.safe_head()
        batch, timestamps = source.poll()
        if not batch.empty_range:
            with self.db.write() as conn:
                applied = project_batch(conn, batch.events, timestamps)
                save_checkpoint(conn, batch.to_block)
            source.reader.commit(batch)
            self._set_status(
                last_block=batch.to_block,
                events_indexed=self.status.events_indexed + applied,
                last_batch_at=time.time(),
            )
        self._set_status(safe_head=max(safe_head, batch.to_block))
        return batch

    def catch_up(self) -> int:
        """Index up to the safe head as it is now; returns the number of events applied."""
        before = self.status.events_indexed
        target = self.source().reader.safe_head()
        while True:
            batch = self.step()
            if batch.empty_range or batch.to_block >= target:
                return self.status.events_indexed - before

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="indexer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._set_status(running=False)

    def _run(self) -> None:
        self._set_status(running=True)
        delay = self.backoff_initial_s
        while not self._stop.is_set():
            try:
                if not self._lead():
                    self._stop.wait(self.standby_poll_s)
                    continue
                batch = self.step()
                if self.status.waiting_for is not None:
                    log.info("indexer: following the chain again at block %s", self.status.last_block)
                self._set_status(waiting_for=None)
                delay = self.backoff_initial_s
                if batch.empty_range:
                    self._stop.wait(self.poll_interval_s)
            except (ChainError, OSError) as exc:
                reason = _reason(exc)
                if reason != self.status.waiting_for:
                    log.warning("indexer waits: %s (retrying with backoff)", reason)
                self._set_status(waiting_for=reason)
                self._stop.wait(delay)
                delay = min(delay * 2, self.backoff_max_s)
            except Exception:
                log.exception("indexer batch failed; retrying")
                self._set_status(waiting_for="an indexing error (see the logs)")
                self._stop.wait(delay)
                delay = min(delay * 2, self.backoff_max_s)
        self._set_status(running=False)

    def _lead(self) -> bool:
        """Whether this process indexes now (always on SQLite); a standby re-reads the shared checkpoint."""
        if self.db.hold_indexer_lock():
            if self.status.standby:
                self._source = None  # reopen from the checkpoint the last indexing process left
                log.info(
                    "indexer: took over indexing the shared database at block %s", self.status.last_block
                )
                self._set_status(standby=False)
            return True
        if not self.status.standby:
            log.info("indexer: another gateway process indexes this database; standing by")
        self._source = None
        self._set_status(standby=True, waiting_for=None, last_block=load_checkpoint(self.db.connection()))
        return False


def _reason(exc: BaseException) -> str:
    if isinstance(exc, DeploymentNotFound):
        return str(exc)
    return f"RPC unreachable or failing: {exc}"
