"""Market clients for the gateway chain tests: a requester, a provider, and dev accounts as validators."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from chain import (
    Capabilities,
    DevChain,
    JobId,
    JobSpec,
    MarketClient,
    ResultCommitment,
    Role,
    SignedVote,
    VerificationMode,
    dev_account,
    tokens,
)
from tests.chain.market_cast import mine_until_settleable
from tests.conftest import TEST_CONFIG

PROVIDER_CAPS = Capabilities(
    gpu_count=1, gpu_memory_mib=8192, gpu_class=1, cpu_cores=8, memory_mib=16384, price_per_hour=tokens(1)
)
RESULT = ResultCommitment(result_digest=b"\x33" * 32, checkpoint_root=b"\x44" * 32, checkpoint_count=10)
SPEC = JobSpec(
    budget=tokens(10),
    bundle_digest=b"\x22" * 32,
    bundle_codec=0x55,
    mode=VerificationMode.SEGMENTS,
    collateral=tokens(5),
    run_timeout=3600,
    gpu_memory_mib=4096,
    committee_size=3,
    samples_per_validator=2,
    verify_blocks=10,
    validator_fee=tokens(1),
).with_protocol_fee(TEST_CONFIG.fee_bps)  # as the client fills it in: `escrow` is what a post pulls
CHEAP_SPEC = dataclasses.replace(
    SPEC, committee_size=1, collateral=tokens(1), budget=tokens(1)
).with_protocol_fee(TEST_CONFIG.fee_bps)


@dataclass
class Cast:
    requester: MarketClient
    provider: MarketClient
    validators: list[MarketClient]

    def validator(self, address: str) -> MarketClient:
        return next(v for v in self.validators if v.me.lower() == address.lower())

    def sign_all(self, job_id: int, approve: bool = True) -> list[SignedVote]:
        """Every seat's signed vote (mines the seed block first)."""
        DevChain(self.requester.rpc).mine(1)
        committee = self.requester.committee_of(JobId(job_id))
        return [
            self.validator(holder).sign_vote(JobId(job_id), seat, approve)
            for seat, holder in enumerate(committee)
        ]

    def vote_all(self, job_id: int, approve: bool = True) -> list[SignedVote]:
        """Every seat votes `approve`; the requester reveals them with `finalize` once nobody can appeal."""
        votes = self.sign_all(job_id, approve)
        mine_until_settleable(self.requester, job_id)
        self.requester.finalize(JobId(job_id), votes)
        return votes


def make_cast(market: MarketClient) -> Cast:
    """Dev 1 requests, dev 2 provides, dev 4..6 validate (registered and staked unless they already are)."""
    provider = market.with_account(dev_account(2))
    if provider.account_of().role == Role.NONE:
        provider.register_provider(PROVIDER_CAPS, b"\x01" * 32)
    if provider.account_of().stake < tokens(500):
        provider.stake(tokens(500))
    validators = []
    for index in range(3, 10):
        client = market.with_account(dev_account(index))
        validators.append(client)
        if index in (4, 5, 6) and client.account_of().role == Role.NONE:
            client.stake(tokens(200))
            client.register_validator()
    requester = market.with_account(dev_account(1))
    requester.token.approve(market.address, tokens(5_000))
    return Cast(requester=requester, provider=provider, validators=validators)
