"""The votes relay: committee seats hand in their signed votes; everyone reads them once revealed together."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from starlette.concurrency import run_in_threadpool

from api.deps import ClientIpDep, DatabaseDep, GatewayDep
from api.errors import error_responses
from api.models.common import JobIdPath
from api.models.votes import SignedVoteWire, VoteAccepted, VotesPublic
from api.services import votes
from chain import FINAL_ROUND

router = APIRouter(prefix="/jobs", tags=["votes"])

VOTE_BODY_MAX_BYTES = 4 * 1024


@router.post(
    "/{job_id}/votes",
    response_model=VoteAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    max_body_size=VOTE_BODY_MAX_BYTES,
    responses=error_responses(400, 401, 403, 404, 409, 429, 503),
)
async def create_vote(
    job_id: JobIdPath, vote: SignedVoteWire, gateway: GatewayDep, ip: ClientIpDep
) -> VoteAccepted:
    """Hand in a seat's signed vote (`chain.votes.SignedVote.to_json()`), kept private until revealed.

    Only the job's current round takes votes (an appealed round's are refused, naming the current one).
    The signature must recover to `validator` over the job's current result and round, and `validator`
    must hold the seat of that round. One vote per seat: its holder may replace it until revealed."""
    return await run_in_threadpool(votes.store_vote, gateway, job_id, vote, ip)


@router.get("/{job_id}/votes", response_model=VotesPublic, responses=error_responses(404, 409))
async def read_votes(
    job_id: JobIdPath,
    db: DatabaseDep,
    round: Annotated[
        int | None, Query(ge=0, le=FINAL_ROUND, description="the round to read; default: the current one")
    ] = None,
) -> VotesPublic:
    """Every vote of a round on the job's current result: the current round's revealed together once its
    window has closed (the last indexed block is past `submitBlock + 1 + verifyBlocks`, `submitBlock`
    being the round's) or every seat has voted, 409 before; an appealed round's (`?round=`) always."""
    return await run_in_threadpool(db.snapshot, votes.read_votes, job_id, round)
