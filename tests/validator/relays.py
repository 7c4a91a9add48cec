"""A votes relay in memory, for the validator tests that re-execute in Docker: it keeps the gateway's rule
(votes stay private until every seat voted or the window closed), read from the chain, without a gateway.
tests/validator/test_gateway_votes.py runs the real one."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from chain import JobId, JobStatus, MarketClient, SignedVote, round_seats
from validator.relay import RelayRefused, RelayUnavailable

__all__ = ["MemoryRelay"]


class MemoryRelay:
    """Shared by every daemon of a test. `down = True` makes it unreachable; `delivered` counts the
    votes handed in (re-deliveries included). Round-aware, as the gateway is to be: votes are kept per
    committee round; `first_round_only = True` refuses appeal rounds' votes as today's gateway does."""

    url = "memory://votes"

    def __init__(self, market: MarketClient) -> None:
        self.market = market
        self.down = False
        self.first_round_only = False
        self.delivered: list[SignedVote] = []
        self._votes: dict[tuple[int, int], dict[int, SignedVote]] = {}
        self._lock = threading.Lock()

    def deliver(self, vote: SignedVote) -> None:
        if self.down:
            raise RelayUnavailable("the relay is down")
        if self.first_round_only and vote.round != 0:
            raise RelayRefused(f"round {vote.round}: this relay takes round-0 votes only", status=400)
        view = self.market.job(JobId(vote.job_id))
        if view.status != JobStatus.SUBMITTED:
            raise RelayRefused(f"job {vote.job_id} is not being verified", status=409)
        if vote.round != view.job.state.round:
            raise RelayRefused(f"job {vote.job_id} is in round {view.job.state.round}", status=409)
        with self._lock:
            self.delivered.append(vote)
            self._votes.setdefault((vote.job_id, vote.round), {})[vote.seat] = vote

    def revealed(self, job_id: JobId, round_: int = 0) -> Sequence[SignedVote] | None:
        if self.down:
            raise RelayUnavailable("the relay is down")
        if self.first_round_only and round_ != 0:
            raise RelayRefused(f"round {round_}: this relay reveals round-0 votes only", status=400)
        view = self.market.job(job_id)
        with self._lock:
            votes = dict(self._votes.get((job_id, round_), {}))
        state, spec = view.job.state, view.job.spec
        if round_ == state.round:
            closed = self.market.rpc.block_number() > state.submit_block + 1 + spec.verify_blocks
            if not closed and len(votes) < round_seats(spec.committee_size, round_):
                return None
        return [votes[seat] for seat in sorted(votes)]

    def held(self, job_id: int, round_: int = 0) -> dict[int, SignedVote]:
        with self._lock:
            return dict(self._votes.get((job_id, round_), {}))
