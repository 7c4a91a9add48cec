"""A votes relay in memory, for the validator tests that re-execute in Docker: it keeps the gateway's rule
(votes stay private until every seat voted or the window closed), read from the chain, without a gateway.
tests/validator/test_gateway_votes.py runs the real one."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from chain import JobId, JobStatus, MarketClient, SignedVote
from validator.relay import RelayRefused, RelayUnavailable

__all__ = ["MemoryRelay"]


class MemoryRelay:
    """Shared by every daemon of a test. `down = True` makes it unreachable; `delivered` counts the
    votes handed in (re-deliveries included)."""

    url = "memory://votes"

    def __init__(self, market: MarketClient) -> None:
        self.market = market
        self.down = False
        self.delivered: list[SignedVote] = []
        self._votes: dict[int, dict[int, SignedVote]] = {}
        self._lock = threading.Lock()

    def deliver(self, vote: SignedVote) -> None:
        if self.down:
            raise RelayUnavailable("the relay is down")
        if self.market.status_of(JobId(vote.job_id)) != JobStatus.SUBMITTED:
            raise RelayRefused(f"job {vote.job_id} is not being verified", status=409)
        with self._lock:
            self.delivered.append(vote)
            self._votes.setdefault(vote.job_id, {})[vote.seat] = vote

    def revealed(self, job_id: JobId) -> Sequence[SignedVote] | None:
        if self.down:
            raise RelayUnavailable("the relay is down")
        view = self.market.job(job_id)
        with self._lock:
            votes = dict(self._votes.get(job_id, {}))
        state, spec = view.job.state, view.job.spec
        closed = self.market.rpc.block_number() > state.submit_block + 1 + spec.verify_blocks
        if not closed and len(votes) < spec.committee_size:
            return None
        return [votes[seat] for seat in sorted(votes)]

    def held(self, job_id: int) -> dict[int, SignedVote]:
        with self._lock:
            return dict(self._votes.get(job_id, {}))
