"""The votes relay as the nodes speak it: a seat's holder posts its signed vote to `POST /jobs/{id}/votes`;
whoever finalizes fetches every vote of the job from `GET /jobs/{id}/votes` once they are revealed.

The body is `chain.votes.SignedVote.to_json()`. The vote carries its own EIP-712 signature (the one
`finalize` checks), so no request signature is needed. The gateway keeps votes private until the job's
window has closed (block > submitBlock + 1 + verifyBlocks) or every seat has voted; before that
`fetch_votes` answers None.
"""

from __future__ import annotations

from typing import Any

import requests

from chain import JobId, SignedVote

__all__ = ["VoteRelayError", "fetch_votes", "post_vote", "votes_path"]


class VoteRelayError(Exception):
    """The gateway refused a vote or a read; `status` is its HTTP status, `detail` its explanation.

    4xx answers name the problem (a bad signature, a seat held by someone else, a job not submitted);
    409 on `post_vote` also means the votes were already revealed, or the seed block is not mined yet."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"gateway answered {status}: {detail}")
        self.status = status
        self.detail = detail


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
        raise VoteRelayError(response.status_code, _detail(response))
    answer: dict[str, Any] = response.json()
    return answer


def fetch_votes(gateway_url: str, job_id: JobId | int, timeout: float = 10.0) -> list[SignedVote] | None:
    """Every vote on the job's current result once revealed; None while they are not revealed yet.

    Raises `VoteRelayError` for any other refusal (404: the gateway has not indexed the job),
    `requests.RequestException` when the gateway cannot be reached.
    """
    response = requests.get(gateway_url.rstrip("/") + votes_path(job_id), timeout=timeout)
    if response.status_code == 409:
        return None
    if response.status_code != 200:
        raise VoteRelayError(response.status_code, _detail(response))
    return [SignedVote.from_json(vote) for vote in response.json()["votes"]]


def _detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return str(body)[:500]
