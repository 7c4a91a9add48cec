"""A validator process dying at one exact instant: the one fault the restart tests inject.

A real `kill -9` cannot be timed to land between saving the signed votes and delivering them, or between
the gateway storing a vote and the node recording that, so the test raises `Killed` at that instant
instead. It is a BaseException: no `except Exception` in the daemon turns it into an abstention or a
retry, and nothing the daemon would have done after that instant runs (its worker thread simply ends, as
the process would). Everything else is real: the chain, the store, Docker, and the daemon that is started
afterwards on the same data dir.
"""

from __future__ import annotations

import threading
from typing import Any

from chain import SignedVote
from jobs.executors import ExecutionId, ExecutionResult
from jobs.executors.docker import DockerExecutor
from tests.validator.relays import MemoryRelay
from validator.daemon import ValidatorNode
from validator.state import Verification

__all__ = [
    "DeliverThenDie",
    "DiesBeforeDelivering",
    "DiesWhileReplaying",
    "Killed",
    "MortalNode",
]


class Killed(BaseException):
    """The injected death of the node's process (see the module docstring)."""


class MortalNode(ValidatorNode):
    """The real daemon; a worker that meets `Killed` ends there and `died` is set."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.died = threading.Event()
        self.last_words = ""

    def _verify(self, record: Verification) -> None:
        try:
            super()._verify(record)
        except Killed as death:
            self.last_words = str(death)
            self.died.set()


class DiesBeforeDelivering(MortalNode):
    """Dies after its signed votes are saved (phase `voting`) and before any reaches the gateway."""

    def _deliver(self, record: Verification) -> None:
        raise Killed(f"died with the signed votes of job {record.job_id} saved and undelivered")


class DeliverThenDie:
    """A relay in front of `inner` whose node dies as soon as the gateway stored a vote, before the node
    hears back (so before it records the delivery)."""

    def __init__(self, inner: MemoryRelay) -> None:
        self.inner = inner
        self.url = inner.url

    def deliver(self, vote: SignedVote) -> None:
        self.inner.deliver(vote)
        raise Killed(f"died after the gateway stored the vote at seat {vote.seat}, before recording it")

    def revealed(self, job_id: Any, round_: int = 0) -> Any:
        return self.inner.revealed(job_id, round_)


class DiesWhileReplaying(DockerExecutor):
    """Starts the replay container for real, then dies while it runs; the container is left running,
    as a killed node leaves it. `orphans` names the executions that were running at the instant."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.orphans: list[str] = []

    def wait(self, execution_id: ExecutionId, timeout: float | None = None) -> ExecutionResult:
        self.orphans = [str(found.execution_id) for found in self.find_running() if found.status == "running"]
        self.close()  # its watch dies with the process: nobody removes the container when it ends
        raise Killed(f"died while execution {execution_id} was running")
