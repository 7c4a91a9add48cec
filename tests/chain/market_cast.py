"""The cast of the market tests (a requester, two providers, five validators, an outsider) and job helpers."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chain import (
    Capabilities,
    DevChain,
    JobId,
    JobSpec,
    MarketClient,
    PostedJob,
    ResultCommitment,
    SignedVote,
    VerificationMode,
    settle_block,
    tokens,
)
from tests.conftest import TEST_CONFIG

PROVIDER_CAPS = Capabilities(
    gpu_count=1, gpu_memory_mib=8192, gpu_class=1, cpu_cores=8, memory_mib=16384, price_per_hour=tokens(1)
)
PROVIDER_STAKE = tokens(1_000)
VALIDATOR_STAKE = tokens(200)
RESULT = ResultCommitment(result_digest=b"\x33" * 32, checkpoint_root=b"\x44" * 32, checkpoint_count=10)

BASE_SPEC = JobSpec(
    budget=tokens(10),
    bundle_digest=b"\x22" * 32,
    bundle_codec=0x55,
    mode=VerificationMode.SEGMENTS,
    collateral=tokens(50),
    run_timeout=3600,
    gpu_memory_mib=4096,
    committee_size=3,
    samples_per_validator=2,
    verify_blocks=10,
    validator_fee=tokens(1),
).with_protocol_fee(TEST_CONFIG.fee_bps)  # as the client fills it in, so `escrow` is what a post pulls


def make_spec(**changes: Any) -> JobSpec:
    return dataclasses.replace(BASE_SPEC, **changes).with_protocol_fee(TEST_CONFIG.fee_bps)


@dataclass
class Cast:
    """Clients sharing one sender, each acting as one role."""

    deployer: MarketClient
    requester: MarketClient
    provider: MarketClient
    provider_b: MarketClient
    validators: list[MarketClient]
    outsider: MarketClient

    def validator(self, address: str) -> MarketClient:
        return next(v for v in self.validators if v.me == address)

    def posted_and_submitted(self, spec: JobSpec | None = None) -> PostedJob:
        """Posted, claimed and submitted, then one block mined: the seed block, so votes can be sent."""
        posted = self.requester.post_job(spec or BASE_SPEC)
        self.provider.claim_job(posted.job_id)
        self.provider.submit_result(posted.job_id, RESULT)
        DevChain(self.requester.rpc).mine(1)
        return posted

    def signed_votes(self, job_id: int, ballots: Sequence[bool | None]) -> list[SignedVote]:
        """Seat i signs ballots[i] (None: stays silent); returns the signed votes (revealed by `finalize`)."""
        committee = self.requester.committee_of(JobId(job_id))
        return [
            self.validator(committee[seat]).sign_vote(JobId(job_id), seat, approve)
            for seat, approve in enumerate(ballots)
            if approve is not None
        ]


def mine_until_settleable(market: MarketClient, job_id: int) -> None:
    """Mine past the job's vote window and, with a committee below the final round, its appeal window:
    `finalize` may settle it in the next block."""
    job = market.jobs.job(JobId(job_id))
    last = settle_block(
        job.state.submit_block,
        job.spec.verify_blocks,
        job.state.round,
        has_committee=job.spec.mode != VerificationMode.NONE,
    )
    DevChain(market.rpc).mine_until(last)
