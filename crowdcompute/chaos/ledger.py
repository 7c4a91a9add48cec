"""What the chain says after a chaos run: job states, payments and where every token is.

* `job_states`: each posted job's state as the index names it (Accepted, Expired, Claimed...).
* `double_payments`: a job whose `ProviderPaid` was emitted more than once, or paid to a provider that
  did not submit the result of the job's last attempt.
* `token_accounts`: two conservation checks, read from the contracts' views:
  1. the token's `totalSupply` equals the sum of `balanceOf` over every holder (the ten dev accounts,
     the market, the treasury, the timelock, the token itself);
  2. the market's own token balance equals what it owes: the escrow of every live job (budget + protocol
     fee + committee fees), every account's stake, unbonding amount and withdrawable balance, and the fees
     set aside to burn (the property `invariant_escrowEqualsOpenBudgetsStakesAndBalances` proves in the
     contracts' fuzz tests, here on a real run). Unpaid rewards (`rewardOwed`) are minted on withdrawal,
     so they are reported beside the supply, not in it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from chain import DEV_ADDRESSES, JobId, JobStatus, JobView, MarketClient
from crowdcompute.requester import state_of

__all__ = ["TERMINAL_STATES", "TokenAccounts", "double_payments", "job_states", "token_accounts"]

TERMINAL_STATES = frozenset({"Accepted", "Rejected", "Unverified", "Cancelled", "Expired", "Closed"})


def job_states(market: MarketClient, job_ids: list[JobId]) -> dict[JobId, JobView]:
    return {job_id: market.job(job_id) for job_id in job_ids}


def is_terminal(view: JobView) -> bool:
    return view.status == JobStatus.CLOSED


def double_payments(views: dict[JobId, JobView]) -> dict[int, str]:
    """Job id -> what was wrong with its payments (empty when every job was paid at most once, rightly)."""
    wrong: dict[int, str] = {}
    for job_id, view in views.items():
        paid = [e for e in view.events if e.name == "ProviderPaid"]
        if len(paid) > 1:
            wrong[job_id] = f"ProviderPaid {len(paid)} times"
            continue
        if not paid:
            continue
        submitters = [e.args["provider"] for e in view.events if e.name == "ResultSubmitted"]
        payee = str(paid[0].args["provider"]).lower()
        if not submitters or str(submitters[-1]).lower() != payee:
            wrong[job_id] = f"paid {payee}, but the last result came from {submitters[-1:] or 'nobody'}"
    return wrong


@dataclass(frozen=True)
class TokenAccounts:
    total_supply: int
    held: int  # sum of balanceOf over every holder
    market_balance: int
    market_owes: int
    rewards_owed: int

    @property
    def conserved(self) -> bool:
        return self.total_supply == self.held and self.market_balance == self.market_owes

    def to_json(self) -> dict[str, Any]:
        return {
            "total_supply": str(self.total_supply),
            "held_by_all_holders": str(self.held),
            "market_balance": str(self.market_balance),
            "market_owes": str(self.market_owes),
            "rewards_owed_unminted": str(self.rewards_owed),
            "conserved": self.conserved,
        }


def token_accounts(market: MarketClient, views: dict[JobId, JobView]) -> TokenAccounts:
    deployment = market.deployment
    holders: dict[str, str] = {a.lower(): str(a) for a in DEV_ADDRESSES}
    extra = [deployment.market, deployment.token, deployment.treasury]
    if deployment.governance is not None:
        extra += [deployment.governance.timelock, deployment.governance.guardian]
    for address in extra:
        if address:
            holders.setdefault(str(address).lower(), str(address))
    token = market.token
    held = sum(token.balance_of(address) for address in holders.values())
    owes: int = market.fees_to_burn()
    rewards: int = 0
    for address in DEV_ADDRESSES:
        account = market.account_of(address)
        owes += account.stake + account.unbonding + account.balance
        rewards += account.reward_owed
    for view in views.values():
        if not is_terminal(view):
            spec = view.job.spec
            owes += spec.budget + spec.protocol_fee + spec.committee_size * spec.validator_fee
    return TokenAccounts(
        total_supply=token.total_supply(),
        held=held,
        market_balance=token.balance_of(deployment.market),
        market_owes=owes,
        rewards_owed=rewards,
    )


def state_counts(views: dict[JobId, JobView]) -> dict[str, int]:
    return dict(Counter(state_of(view) for view in views.values()))
