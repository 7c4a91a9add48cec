"""A node of the base with no chain behind it: a scripted round, a fake market and a fake event reader."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from chain import Role, RpcUnreachable
from node_base import NodeConfigBase, PollingNode, StepReport


class ScratchError(Exception):
    """The scratch role's error."""


@dataclass
class ScratchReport(StepReport):
    did: list[str] = field(default_factory=list)

    @property
    def busy(self) -> bool:
        return bool(self.did or self.behind)


class StateFile:
    closed = False

    def close(self) -> None:
        self.closed = True


def fake_market(role: Role = Role.PROVIDER) -> Any:
    return SimpleNamespace(
        me="0x" + "ab" * 20,
        rpc=SimpleNamespace(chain_id=31337),
        address="0x" + "00" * 20,
        codec=SimpleNamespace(event=lambda name: SimpleNamespace(topic="0x" + name)),
        deployment=SimpleNamespace(block_number=0),
        account_of=lambda: SimpleNamespace(role=role),
    )


class ScratchNode(PollingNode[ScratchReport, int]):
    """Each round pops the next item of `script`: an exception to raise, or a report (an idle one when the
    script is empty); `on_round` runs first."""

    role = Role.PROVIDER
    watched_events = ("JobPosted",)
    purpose = "testing the base"
    not_registered = ScratchError
    max_backoff_s = 0.4

    def __init__(self, tmp: Path, *, poll_interval_s: float = 60.0, role: Role = Role.PROVIDER) -> None:
        super().__init__(fake_market(role), NodeConfigBase(tmp, poll_interval_s=poll_interval_s), StateFile())
        self.script: list[BaseException | ScratchReport] = []
        self.starts = 0
        self.rounds = 0
        self.on_round: Callable[[], None] = lambda: None

    def _start(self) -> None:
        self.starts += 1
        self._registered_account()

    def _round(self) -> ScratchReport:
        self.rounds += 1
        self.on_round()
        item = self.script.pop(0) if self.script else ScratchReport()
        if isinstance(item, BaseException):
            raise item
        return item


def unreachable() -> RpcUnreachable:
    return RpcUnreachable("http://127.0.0.1:1", "ConnectionError")


class RecordingStop(threading.Event):
    """A stop event that records how long the loop waits on it, returns at once, and sets itself after
    `waits` waits."""

    def __init__(self, waits: int) -> None:
        super().__init__()
        self.waited: list[float] = []
        self.left = waits

    def wait(self, timeout: float | None = None) -> bool:
        if timeout is None:  # the wake-on-stop thread
            return super().wait()
        self.waited.append(timeout)
        self.left -= 1
        if self.left <= 0:
            self.set()
        return self.is_set()
