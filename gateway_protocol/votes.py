"""The votes relay as the nodes speak it: a seat's holder posts its signed vote to `POST /jobs/{id}/votes`;
whoever finalizes fetches every vote of the job from `GET /jobs/{id}/votes` once they are revealed.

The body is `chain.votes.SignedVote.to_json()`. The vote carries its own EIP-712 signature (the one
`finalize` checks), so no request signature is needed. The gateway keeps votes private until the job's
window has closed (block > submitBlock + 1 + verifyBlocks) or every seat has voted; before that
`fetch_votes` answers None. After an appeal, `round=N` reads round N's votes (a round-aware gateway answers
an earlier round's at once, the current round's under the same rule); only votes of the round asked for are
returned, whatever the gateway sends.
"""

from __future__ import annotations

from typing import Any

import requests

from chain import JobId, SignedVote

__all__ = [
    "ROUND_NOT_RELAYED",
    "VOTES_PENDING",
    "VOTES_REVEALED",
    "VoteRelayError",
    "fetch_votes",
    "post_vote",
    "votes_path",
]

VOTES_PENDING = "votes_pending"
"""409 code: not yet (the result is not indexed, the seed block not mined, the window still open)."""
VOTES_REVEALED = "votes_revealed"
"""409 code: the votes were revealed; no vote is taken or replaced any more."""
ROUND_NOT_RELAYED = "round_not_relayed"
"""Client-side code: the gateway answered another committee round's votes than the one asked for."""
_LATER = {404, 408, 425, 429, 500, 502, 503, 504}


class VoteRelayError(Exception):
    """The gateway refused a vote or a read: `status` (HTTP), `code` (`votes_pending`, `votes_revealed`,
    `job_closed`, `authentication_failed`, `forbidden` ...) and `detail`, the gateway's sentence.

    `retryable` says whether the same request may succeed later (the gateway's index catches up, the seed
    block is mined, a rate limit refills, the gateway comes back); a bad signature, a seat held by someone
    else, a closed job or revealed votes will not change."""

    def __init__(self, status: int, detail: str, code: str = "") -> None:
        super().__init__(f"gateway answered {status} {code}: {detail}".replace("  ", " "))
        self.status = status
        self.code = code
        self.detail = detail

    @property
    def retryable(self) -> bool:
        return self.status in _LATER or (self.status == 409 and self.code == VOTES_PENDING)


def votes_path(job_id: JobId | int) -> str:
    """The URL path of a job's votes."""
    return f"/jobs/{int(job_id)}/votes"


def post_vote(gateway_url: str, vote: SignedVote, timeout: float = 10.0) -> dict[str, Any]:
    """Hand `vote` to the gateway; returns its answer `{"job_id", "seat", "stored": true}`.

    Raises `VoteRelayError` when the gateway refuses it, `requests.RequestException` when it cannot be
    reached.
    """
    response = requests.post(
        gateway_url.rstrip("/") + votes_path(vote.job_id), json=vote.to_json(), timeout=timeout
    )
    if response.status_code != 202:
        raise _refused(response)
    answer: dict[str, Any] = response.json()
    return answer


def fetch_votes(
    gateway_url: str, job_id: JobId | int, timeout: float = 10.0, *, round_: int | None = None
) -> list[SignedVote] | None:
    """Every vote on the job's current result once revealed; None while they are not revealed yet
    (or the gateway has not indexed the job's result yet). With `round_`, that committee round's votes only.

    Raises `VoteRelayError` for any other refusal (404: the gateway has not indexed the job),
    `requests.RequestException` when the gateway cannot be reached.
    """
    params = {} if round_ is None else {"round": str(round_)}
    response = requests.get(gateway_url.rstrip("/") + votes_path(job_id), params=params, timeout=timeout)
    if response.status_code == 409 and _code(response) == VOTES_PENDING:
        return None
    if response.status_code != 200:
        raise _refused(response)
    votes = [SignedVote.from_json(vote) for vote in response.json()["votes"]]
    if round_ is None:
        return votes
    wanted = [vote for vote in votes if vote.round == round_]
    if votes and not wanted:
        # A gateway that knows no rounds answers the round it relays: never take them as this round's.
        raise VoteRelayError(
            response.status_code,
            f"asked for round {round_}'s votes of job {int(job_id)}, the gateway answered round "
            f"{votes[0].round}'s: it does not relay this round",
            ROUND_NOT_RELAYED,
        )
    return wanted


def _refused(response: requests.Response) -> VoteRelayError:
    try:
        body = response.json()
    except ValueError:
        return VoteRelayError(response.status_code, response.text[:500])
    if isinstance(body, dict) and "detail" in body:
        return VoteRelayError(response.status_code, str(body["detail"]), str(body.get("code", "")))
    return VoteRelayError(response.status_code, str(body)[:500])


def _code(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("code", "")) if isinstance(body, dict) else ""
