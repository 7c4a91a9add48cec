"""`crowdcompute account status|withdraw`: any account's money in the market, whatever its role.

The market credits tokens to an account's balance instead of sending them (pull payments): a requester's
refund when its job ends Unverified or Rejected, unused committee fees, a validator's fees, a provider's
payment. `account status` shows that balance beside the wallet; `account withdraw` moves the balance and
any owed reward into the wallet. Stake is the providers' and validators' own commands' business.
"""

from __future__ import annotations

from typing import Any

from chain import ChainError, enum_label
from cli_support import ChainOptions, chain_options, noun_app, sent_tx, token_amount

__all__ = ["account_app"]

account_app = noun_app(
    "account", "Your tokens in the market: refunds, unused fees and earnings, and withdrawing them."
)

_FAILURES = (ChainError, OSError, ValueError)


@account_app.command("status")
@chain_options()
def status(*, opts: ChainOptions) -> None:
    """The wallet's tokens, and what the market holds for this account (balance, reward owed, stake)."""
    out = opts.output()
    try:
        market = opts.connect()
        account = market.account_of()
        wallet = market.token.balance_of(market.me)
    except _FAILURES as exc:
        out.fail(exc)
    payload: dict[str, Any] = {
        "address": market.me,
        "role": enum_label(account.role),
        "wallet": str(wallet),
        "balance": str(account.balance),
        "rewardOwed": str(account.reward_owed),
        "stake": str(account.stake),
        "locked": str(account.locked),
        "unbonding": str(account.unbonding),
    }
    withdrawable = account.balance + account.reward_owed
    hint = " (`crowdcompute account withdraw` moves it to the wallet)" if withdrawable else ""
    lines = [
        f"account {market.me} ({enum_label(account.role)})",
        f"  wallet     {token_amount(wallet)}",
        f"  balance    {token_amount(account.balance)} + {token_amount(account.reward_owed)} reward owed"
        + hint,
    ]
    if account.stake or account.unbonding:
        lines.append(
            f"  stake      {token_amount(account.stake)} ({token_amount(account.locked)} locked), "
            f"{token_amount(account.unbonding)} unbonding"
        )
    out.emit(payload, "\n".join(lines))


@account_app.command("withdraw")
@chain_options()
def withdraw(*, opts: ChainOptions) -> None:
    """Move this account's market balance (refunds, unused fees, earnings) and owed reward to its wallet."""
    out = opts.output()
    try:
        market = opts.connect()
        account = market.account_of()
        if account.balance == 0 and account.reward_owed == 0:
            raise ValueError(
                f"nothing to withdraw: {market.me} has no balance and no reward owed in the market "
                "(see `crowdcompute account status`)"
            )
        with out.progress("Withdrawing"):
            paid = market.withdraw()
        wallet = market.token.balance_of(market.me)
    except _FAILURES as exc:
        out.fail(exc)
    payload = {
        "address": paid.account,
        "amount": str(paid.amount),
        "reward": str(paid.reward),
        "wallet": str(wallet),
        **sent_tx(paid.tx),
    }
    text = (
        f"withdrew {token_amount(paid.amount)} and {token_amount(paid.reward)} of rewards to {paid.account}; "
        f"wallet {token_amount(wallet)}"
    )
    out.emit(payload, text)
