"""Inflicting a fault schedule on a started `ChaosStack`: `FaultRunner`.

Each fault runs on its own thread (faults may overlap, as they do in a real network): it begins, lasts
its duration, then ends. What each kind does:

* `kill_provider` / `kill_validator` / `kill_gateway`: SIGKILL the process group, start the same command
  again after the duration (the gateway on the same port).
* `cut_rpc`: the proxy between the nodes and anvil drops every connection and refuses new ones.
* `stall_store`: the nodes of this stack read the embedded content store from disk, so the process that
  serves content over HTTP (the gateway: /ipfs, bundle uploads, the log and vote relays) is stopped with
  SIGSTOP, and continued with SIGCONT.
* `fill_disk`: a file takes every free byte of the provider's tmpfs data folder, then is deleted (skipped,
  with the reason recorded, where the stack could not mount one).

A watchdog thread starts again any node or gateway that died outside a fault (a restart during an RPC cut
can fail to connect), and counts it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from crowdcompute.chaos.schedule import Fault
from crowdcompute.chaos.stack import ChaosStack

__all__ = ["FaultRecord", "FaultRunner"]

log = logging.getLogger(__name__)

FILL_NAME = "chaos-disk-fill.bin"


@dataclass
class FaultRecord:
    fault: Fault
    began_s: float | None = None
    ended_s: float | None = None
    skipped: str | None = None


@dataclass
class FaultRunner:
    stack: ChaosStack
    schedule: list[Fault]
    say: Callable[[str], None] = lambda _line: None
    records: list[FaultRecord] = field(default_factory=list)
    restarts_outside_faults: int = 0
    _down: set[str] = field(default_factory=set)
    _to_start: set[str] = field(default_factory=set)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _threads: list[threading.Thread] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _origin: float = 0.0

    def run(self, origin: float) -> float:
        """Inflict the schedule (offsets from `origin`, a monotonic time); returns when every fault ended,
        at the monotonic time the last one ended."""
        self._origin = origin
        watchdog = threading.Thread(target=self._watch, name="chaos-watchdog", daemon=True)
        watchdog.start()
        try:
            for fault in self.schedule:
                delay = origin + fault.at_s - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                record = FaultRecord(fault)
                self.records.append(record)
                thread = threading.Thread(target=self._inflict, args=(record,), daemon=True)
                thread.start()
                self._threads.append(thread)
            for thread in self._threads:
                thread.join()
        finally:
            self._stopping.set()
            watchdog.join(5)
        ended = [r.ended_s for r in self.records if r.ended_s is not None]
        return origin + max(ended, default=time.monotonic() - origin)

    def counts(self) -> dict[str, int]:
        done: dict[str, int] = {}
        for record in self.records:
            if record.skipped is None:
                done[record.fault.kind] = done.get(record.fault.kind, 0) + 1
        return done

    def skipped(self) -> list[str]:
        return sorted({f"{r.fault.kind}: {r.skipped}" for r in self.records if r.skipped})

    # -- one fault -----------------------------------------------------------------------------------

    def _inflict(self, record: FaultRecord) -> None:
        fault = record.fault
        record.began_s = time.monotonic() - self._origin
        try:
            end = self._begin(fault, record)
            if end is not None:
                self.say(f"fault {fault.describe()}")
                time.sleep(fault.duration_s)
                end()
        except Exception as exc:  # a fault that cannot be inflicted is recorded, not fatal
            record.skipped = f"{type(exc).__name__}: {exc}"
            log.warning("fault %s failed: %s", fault.describe(), exc)
        record.ended_s = time.monotonic() - self._origin

    def _begin(self, fault: Fault, record: FaultRecord) -> Callable[[], None] | None:
        stack = self.stack
        if fault.kind in ("kill_provider", "kill_validator", "kill_gateway"):
            name = self._target_name(fault)
            with self._lock:
                if name in self._down:
                    record.skipped = f"{name} is already down"
                    return None
                self._down.add(name)
            stack.supervisor.kill(name)
            return lambda: self._start_again(name)
        if fault.kind == "cut_rpc":
            assert stack.proxy is not None
            stack.proxy.cut()
            return stack.proxy.restore
        if fault.kind == "stall_store":
            pid = stack.supervisor.child("gateway").pid
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGSTOP)
            return lambda: _continue(pid)
        if stack.disk_fill_skipped is not None:
            record.skipped = stack.disk_fill_skipped
            return None
        filler = stack.provider_dir(fault.target % len(stack.providers)) / FILL_NAME
        _fill(filler)
        return lambda: filler.unlink(missing_ok=True)

    def _target_name(self, fault: Fault) -> str:
        if fault.kind == "kill_gateway":
            return "gateway"
        nodes = self.stack.providers if fault.kind == "kill_provider" else self.stack.validators
        return nodes[fault.target % len(nodes)].name

    def _start_again(self, name: str) -> None:
        with self._lock:
            self._down.discard(name)
            self._to_start.add(name)
        self._start_pending()

    def _start_pending(self) -> list[str]:
        """Start what is due to start; a start that fails (an interpreter being reinstalled under the
        stack) stays due and is tried again at the next tick."""
        started = []
        with self._lock:
            for name in sorted(self._to_start):
                try:
                    self.stack.supervisor.start_again(name)
                except OSError as exc:
                    self.say(f"starting {name} again failed ({exc}); trying again")
                    continue
                self._to_start.discard(name)
                started.append(name)
        return started

    # -- the watchdog --------------------------------------------------------------------------------

    def _watch(self) -> None:
        while not self._stopping.wait(1.0):
            try:
                self.revive()
            except Exception as exc:  # the watchdog outlives whatever one tick meets
                self.say(f"watchdog: {type(exc).__name__}: {exc}")

    def revive(self) -> list[str]:
        """Start again every process that exited while no fault held it down; their names."""
        with self._lock:
            for child in list(self.stack.supervisor.children):
                if child.name in self._down or child.running():
                    continue
                self.stack.supervisor.children.remove(child)
                self._to_start.add(child.name)
                self.restarts_outside_faults += 1
        revived = self._start_pending()
        for name in revived:
            self.say(f"watchdog: {name} had exited outside a fault; started it again")
        return revived


def _continue(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGCONT)


def _fill(path: Path) -> None:
    """Take every free byte of the filesystem holding `path`."""
    stats = os.statvfs(path.parent)
    free = stats.f_bavail * stats.f_frsize
    with path.open("wb") as out, contextlib.suppress(OSError):  # ENOSPC at the very end is the point
        os.posix_fallocate(out.fileno(), 0, max(1, free))
