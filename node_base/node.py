"""The loop every node daemon runs; a role says only what one round does and how it resumes after a restart.

`step()` is one round. The first one resumes what the role's state file says was in flight (`_start`,
after checking the account holds the role); each reads the next batch of the role's events from the
checkpointed reader and hands it to the role (`_read_events`), then the role acts (`_round`).
`run(stop)` repeats `step()` until `stop` is set: at once while a round did something (`busy`), else after
`poll_interval_s` or as soon as a worker calls `_wake.set()`; a chain that does not answer is retried
with backoff (doubling up to `max_backoff_s`). Work that outlives a round runs on worker threads, keyed by
what they work on (`_spawn`, `_finished_workers`); `wait_idle` waits for them and `close` stops them.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import ClassVar, Generic, Protocol, TypeVar

from chain import (
    Account,
    ChainError,
    DecodedLog,
    EventBatch,
    EventReader,
    JsonCheckpointStore,
    MarketClient,
    Role,
    enum_label,
)
from node_base.config import NodeConfigBase

__all__ = ["PollingNode", "StepReport"]

_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def _disk_full(exc: BaseException) -> bool:
    """A write refused for want of space: by the OS, or by SQLite (the node's state file)."""
    if isinstance(exc, sqlite3.OperationalError):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return isinstance(exc, OSError) and exc.errno in _DISK_FULL


@dataclass
class StepReport:
    """What one round did; a role's report adds its own lists and says when it was `busy`."""

    events: int = 0
    behind: bool = False  # the event reader has more blocks to read

    @property
    def busy(self) -> bool:
        """Worth another round at once, without waiting for the next poll."""
        return self.behind


class _StateFile(Protocol):
    def close(self) -> None: ...


ReportT = TypeVar("ReportT", bound=StepReport)
KeyT = TypeVar("KeyT", bound=Hashable)


class PollingNode(ABC, Generic[ReportT, KeyT]):
    """One account's daemon for one role; see the module docstring."""

    role: ClassVar[Role]
    watched_events: ClassVar[tuple[str, ...]]
    purpose: ClassVar[str]
    """What the node does, for its first log line."""
    not_registered: ClassVar[type[Exception]]
    """The role's error for an account that does not hold the role."""
    idle_timeout_s: ClassVar[float] = 60.0
    max_backoff_s: ClassVar[float] = 30.0

    def __init__(self, market: MarketClient, config: NodeConfigBase, state: _StateFile) -> None:
        self.market = market
        self.me = market.me
        self.state = state
        self.log = logging.getLogger(type(self).__module__)
        self.reader = EventReader(
            market.rpc,
            market.address,
            market.codec,
            self.watched_events,
            start_block=market.deployment.block_number,
            confirmations=config.confirmations,
            checkpoints=JsonCheckpointStore(config.checkpoint_path),
            poll_interval=config.poll_interval_s,
        )
        self._poll_interval_s = config.poll_interval_s
        self._workers: dict[KeyT, threading.Thread] = {}
        self._stop = threading.Event()  # tells the workers to stop
        self._wake = threading.Event()  # ends an idle wait early
        self._started = False

    # -- what a role says ------------------------------------------------------------------------------

    @abstractmethod
    def _start(self) -> None:
        """Resume after a restart what the state file says was in flight (once, before the first round)."""

    @abstractmethod
    def _round(self) -> ReportT:
        """One round: read events (`_read_events`), then act."""

    # -- the loop --------------------------------------------------------------------------------------

    def step(self) -> ReportT:
        if not self._started:
            self._start()
            self._started = True
        return self._round()

    def run(self, stop: threading.Event) -> None:
        """Step until `stop` is set; a chain that does not answer is retried with backoff."""
        self.log.info("%s node %s: %s", enum_label(self.role).lower(), self.me, self.purpose)
        # A stop must end the idle wait below too (there is no waiting on either of two events).
        threading.Thread(target=self._wake_on, args=(stop,), name="wake-on-stop", daemon=True).start()
        delay = self._poll_interval_s
        while not stop.is_set():
            self._wake.clear()  # before the step: a worker done during it ends the wait that follows
            try:
                report = self.step()
            except ChainError as exc:
                self.log.warning("the chain did not answer as expected (%s); retrying in %.1f s", exc, delay)
                stop.wait(delay)
                delay = min(delay * 2, self.max_backoff_s)
                continue
            except (OSError, sqlite3.OperationalError) as exc:
                if not _disk_full(exc):
                    raise
                # A full disk passes (logs rotate, another job's files go): wait for it, do not exit.
                self.log.warning(
                    "the disk is full (%s): free space where the node keeps its data; retrying in %.1f s",
                    exc,
                    delay,
                )
                stop.wait(delay)
                delay = min(delay * 2, self.max_backoff_s)
                continue
            delay = self._poll_interval_s
            if not report.busy:
                self._wake.wait(self._idle_wait_s())
        self.close()

    def _idle_wait_s(self) -> float:
        """How long an idle node waits for the next step (a worker or a stop ends the wait earlier)."""
        return self._poll_interval_s

    def _wake_on(self, stop: threading.Event) -> None:
        stop.wait()
        self._wake.set()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait for every worker to finish (at most `timeout`, default `idle_timeout_s`); True when none
        is left running."""
        deadline = time.monotonic() + (self.idle_timeout_s if timeout is None else timeout)
        for thread in list(self._workers.values()):
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._workers.values())

    def close(self, timeout: float = 10.0) -> None:
        """Stop the workers (each leaves its work resumable) and close the state file."""
        self._stop.set()
        for thread in list(self._workers.values()):
            thread.join(timeout)
        self._workers.clear()
        self.state.close()

    # -- helpers for the role --------------------------------------------------------------------------

    def _registered_account(self) -> Account:
        """The account, which must hold the node's role."""
        account = self.market.account_of()
        if account.role != self.role:
            label = enum_label(self.role).lower()
            raise self.not_registered(
                f"{self.me} is not registered as a {label}: run `crowdcompute {label} register` first"
            )
        return account

    def _read_events(self, report: ReportT, apply: Callable[[list[DecodedLog]], int | None]) -> None:
        """Hand the next batch of events to `apply`, then commit it (a crash in between reads it again).
        `apply` may return a block it could not finish yet: the commit stops before it, so that block's
        events (and the later ones) are handed over again on the next round and after a restart."""
        batch = self.reader.poll(commit=False)
        hold = apply(batch.events)
        if hold is not None and hold <= batch.to_block:
            batch = EventBatch(batch.events, batch.from_block, hold - 1)
        self.reader.commit(batch)
        report.events = len(batch.events)
        report.behind = batch.to_block - batch.from_block + 1 >= self.reader.batch_blocks

    def _spawn(self, key: KeyT, target: Callable[[], object], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._workers[key] = thread
        thread.start()

    def _finished_workers(self) -> list[KeyT]:
        """The keys of workers that have ended, forgotten from now on."""
        done = [key for key, thread in self._workers.items() if not thread.is_alive()]
        for key in done:
            del self._workers[key]
        return done
