"""A provider's standing: stake, collateral, unbonding and balances (`accountOf`), and its jobs (events).

Every job event naming a provider has it as its second indexed topic, so one filtered log query over the
market's history finds this provider's claims, submissions, payments and expiries.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chain import Account, Capabilities, EventReader, JobId, JobStatus, MarketClient, enum_label
from provider_node.state import StateStore

__all__ = ["ProviderStatus", "provider_status"]

PROVIDER_EVENTS = ("JobClaimed", "ResultSubmitted", "ProviderPaid", "JobExpired")


@dataclass(frozen=True)
class ProviderStatus:
    address: str
    account: Account
    capabilities: Capabilities
    wallet: int
    chain_time: int
    claimed: int = 0
    submitted: int = 0
    completed: int = 0
    expired: int = 0
    earned: int = 0
    rewarded: int = 0
    slashed: int = 0
    active: tuple[JobId, ...] = ()
    local: dict[str, int] = field(default_factory=dict)

    @property
    def unbonding_released(self) -> bool:
        return self.account.unbonding > 0 and self.chain_time >= self.account.unbonding_release_at

    def to_json(self) -> dict[str, Any]:
        account = self.account
        return {
            "address": self.address,
            "role": enum_label(account.role),
            "capabilities": {
                k: str(v) if k == "pricePerHour" else v for k, v in self.capabilities.to_abi().items()
            },
            "stake": str(account.stake),
            "locked": str(account.locked),
            "freeStake": str(account.free_stake),
            "unbonding": str(account.unbonding),
            "unbondingReleaseAt": account.unbonding_release_at,
            "unbondingReleased": self.unbonding_released,
            "balance": str(account.balance),
            "rewardOwed": str(account.reward_owed),
            "wallet": str(self.wallet),
            "jobs": {
                "claimed": self.claimed,
                "submitted": self.submitted,
                "completed": self.completed,
                "expired": self.expired,
                "active": list(self.active),
            },
            "earned": str(self.earned),
            "rewarded": str(self.rewarded),
            "slashed": str(self.slashed),
            "local": self.local,
        }


def _topic(address: str) -> str:
    return "0x" + bytes.fromhex(address.lower().removeprefix("0x")).rjust(32, b"\x00").hex()


def provider_status(market: MarketClient, address: str, *, data_dir: Path | None = None) -> ProviderStatus:
    reader = EventReader(
        market.rpc,
        market.address,
        market.codec,
        PROVIDER_EVENTS,
        start_block=market.deployment.block_number,
        batch_blocks=100_000,
        topic_filters=[None, _topic(address)],
    )
    counts: Counter[str] = Counter()
    claimed_ids: list[JobId] = []
    earned = rewarded = slashed = 0
    for event in reader.catch_up():
        counts[event.name] += 1
        if event.name == "JobClaimed":
            claimed_ids.append(JobId(int(event.args["jobId"])))
        elif event.name == "ProviderPaid":
            earned += int(event.args["payment"])
            rewarded += int(event.args["reward"])
        elif event.name == "JobExpired":
            slashed += int(event.args["slashed"])
    active = []
    for job_id in dict.fromkeys(claimed_ids):
        live = market.status_of(job_id) in (JobStatus.CLAIMED, JobStatus.SUBMITTED)
        if live and market.job(job_id).job.state.provider == address:
            active.append(job_id)
    local: dict[str, int] = {}
    if data_dir is not None and (data_dir / "state.db").exists():
        state = StateStore(data_dir / "state.db")
        try:
            local = dict(Counter(record.phase.value for record in state.records()))
        finally:
            state.close()
    # The next block's time: the latest block's, or the clock when the chain has been idle.
    latest = max(int(market.rpc.get_block("latest")["timestamp"], 16), int(time.time()))
    return ProviderStatus(
        address=address,
        account=market.account_of(address),
        capabilities=market.capabilities_of(address),
        wallet=market.token.balance_of(address),
        chain_time=latest,
        claimed=counts["JobClaimed"],
        submitted=counts["ResultSubmitted"],
        completed=counts["ProviderPaid"],
        expired=counts["JobExpired"],
        earned=earned,
        rewarded=rewarded,
        slashed=slashed,
        active=tuple(active),
        local=local,
    )
