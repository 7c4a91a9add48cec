"""`crowdcompute market status|pause|unpause`: the parameters, who governs the market, the guardian's pause.

Parameters change only through the market's governor, a timelock: a proposer schedules `setConfig`, it waits
out the timelock's delay in public, then an executor runs it. The guardian may pause at once: new posts,
claims and registrations are refused; running jobs settle and withdrawals keep working.
"""

from __future__ import annotations

from typing import Any

from chain import ChainError
from cli_support import ChainOptions, chain_options, noun_app, sent_tx, token_amount

__all__ = ["market_app"]

market_app = noun_app("market", "The market's parameters and governance; the guardian's pause.")

_FAILURES = (ChainError, OSError, ValueError)


@market_app.command("status")
@chain_options()
def status(*, opts: ChainOptions) -> None:
    """Whether the market is paused, its guardian and governor, and the parameters in force."""
    out = opts.output()
    try:
        market = opts.connect(signing=False)
        paused = market.paused()
        guardian = market.guardian()
        governor = market.governor()
        config = market.config()
    except _FAILURES as exc:
        out.fail(exc)
    governance = market.deployment.governance
    delay = governance.min_delay if governance is not None and governance.timelock == governor else None
    payload: dict[str, Any] = {
        "market": market.address,
        "paused": paused,
        "guardian": guardian,
        "governor": governor,
        "timelockDelay": delay,
        "config": {key: str(value) for key, value in config.to_abi().items()},
    }
    state = (
        "PAUSED: new posts and claims are refused; running jobs settle and withdrawals work"
        if paused
        else "open"
    )
    lines = [
        f"market {market.address}: {state}",
        f"  guardian   {guardian}",
        f"  governor   {governor}" + (f" (timelock, {delay} s delay)" if delay is not None else ""),
        f"  unbonding delay      {config.unbonding_delay} s",
        f"  min provider stake   {token_amount(config.min_provider_stake)}",
        f"  min validator stake  {token_amount(config.min_validator_stake)}",
        f"  validator slash      {token_amount(config.validator_slash)}",
        f"  reward               {config.reward_bps} bps of the budget",
    ]
    out.emit(payload, "\n".join(lines))


@market_app.command("pause")
@chain_options()
def pause(*, opts: ChainOptions) -> None:
    """Refuse new posts, claims and registrations (the guardian's key only)."""
    _set_paused(opts, paused=True)


@market_app.command("unpause")
@chain_options()
def unpause(*, opts: ChainOptions) -> None:
    """Accept new posts, claims and registrations again (the guardian's key; the governor unpauses through
    its timelock)."""
    _set_paused(opts, paused=False)


def _set_paused(opts: ChainOptions, *, paused: bool) -> None:
    out = opts.output()
    try:
        market = opts.connect()
        guardian = market.guardian()
        if market.me != guardian:
            raise ValueError(f"only the market's guardian {guardian} may do this; this key is {market.me}")
        with out.progress("Pausing" if paused else "Unpausing"):
            tx = market.pause() if paused else market.unpause()
    except _FAILURES as exc:
        out.fail(exc)
    text = "market paused: new posts and claims are refused" if paused else "market unpaused"
    out.emit({"market": market.address, "paused": paused, **sent_tx(tx)}, text)
