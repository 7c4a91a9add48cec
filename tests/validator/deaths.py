"""A validator process dying at one exact instant: the one fault the restart tests inject.

A real `kill -9` cannot be timed to land between saving a verdict and sending its vote, or between a vote
being mined and its receipt being recorded, so the test raises `Killed` at that instant instead. It is a
BaseException: no `except Exception` in the daemon turns it into an abstention or a retry, and nothing
the daemon would have done after that instant runs (its worker thread simply ends, as the process
would). Everything else is real: the chain, the store, Docker, and the daemon that is started afterwards
on the same data dir.
"""

from __future__ import annotations

import threading
from typing import Any

from chain import CastVote, Evidence, MarketClient, PendingTx, TxResult, TxSender
from jobs.executors import ExecutionId, ExecutionResult
from jobs.executors.docker import DockerExecutor
from validator.daemon import ValidatorNode
from validator.state import Verification

__all__ = [
    "DiesBeforeSending",
    "DiesWhileMining",
    "DiesWhileReplaying",
    "Killed",
    "MortalNode",
    "VoteThenDie",
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


class DiesBeforeSending(MortalNode):
    """Dies after the verdict is saved (phase `voting`) and before the vote transaction is signed."""

    def _send_vote(self, record: Verification) -> None:
        raise Killed(f"died with the verdict of job {record.job_id} saved and its vote unsent")


class VoteThenDie(MarketClient):
    """A client whose process dies as soon as its vote is mined, before the daemon hears back."""

    def vote(
        self, job_id: int, approve: bool, evidence: Evidence | None = None, *, slot: int | None = None
    ) -> CastVote:
        cast = super().vote(job_id, approve, evidence, slot=slot)
        raise Killed(f"died after vote {cast.tx.tx_hash} was mined, before recording it")


class DiesWhileMining(TxSender):
    """Sends for real, then dies before the transaction is mined (the test holds anvil's automine off)."""

    def wait(self, pending: PendingTx, timeout: float | None = None) -> TxResult:
        raise Killed(f"died with {pending.tx_hash} in the mempool")


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
