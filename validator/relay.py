"""Where a validator's signed votes go, and where whoever finalizes reads every seat's vote: the gateway.

`VoteRelay` is what the daemon needs: `deliver(vote)` hands one signed vote in (of the job's current round),
`revealed(job_id, round_)` answers every vote of that committee round once the gateway reveals them (None
before: the window is open and seats are still missing). `GatewayRelay` speaks `gateway_protocol.votes` over
HTTP; tests may hand the daemon another.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import requests

from chain import JobId, SignedVote
from gateway_protocol.votes import VoteRelayError, fetch_votes, post_vote
from validator.errors import ValidatorError

__all__ = ["GatewayRelay", "RelayRefused", "RelayUnavailable", "VoteRelay"]


class RelayUnavailable(ValidatorError):
    """The relay could not be reached, or answered "not now" (its index behind, busy): try again later."""


class RelayRefused(ValidatorError):
    """The relay answered and refused for good (votes already revealed, a closed job, a vote it rejects)."""

    def __init__(self, message: str, *, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class VoteRelay(Protocol):
    url: str

    def deliver(self, vote: SignedVote) -> None:
        """Hand in one signed vote; raises `RelayUnavailable` or `RelayRefused`."""
        ...

    def revealed(self, job_id: JobId, round_: int = 0) -> Sequence[SignedVote] | None:
        """Every vote of the job's round `round_` once revealed, None before; raises `RelayUnavailable` or
        `RelayRefused` (a gateway that relays no appeal round refuses those)."""
        ...


class GatewayRelay:
    """The gateway's votes relay (`POST`/`GET /jobs/{id}/votes`)."""

    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s

    def deliver(self, vote: SignedVote) -> None:
        try:
            post_vote(self.url, vote, self.timeout_s)
        except VoteRelayError as exc:
            raise _classified(exc) from exc
        except requests.RequestException as exc:
            raise RelayUnavailable(f"the gateway at {self.url} cannot be reached: {exc}") from exc

    def revealed(self, job_id: JobId, round_: int = 0) -> Sequence[SignedVote] | None:
        try:
            return fetch_votes(self.url, job_id, self.timeout_s, round_=round_)
        except VoteRelayError as exc:
            raise _classified(exc) from exc
        except requests.RequestException as exc:
            raise RelayUnavailable(f"the gateway at {self.url} cannot be reached: {exc}") from exc


def _classified(exc: VoteRelayError) -> ValidatorError:
    if exc.retryable:
        return RelayUnavailable(str(exc))
    return RelayRefused(str(exc), status=exc.status)
