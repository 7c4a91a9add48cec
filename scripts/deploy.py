#!/usr/bin/env python3
"""Deploy the crowdcompute market (and its CROWD token) to any JSON-RPC node.

The signing key comes from CROWDCOMPUTE_PRIVATE_KEY, or from an encrypted keystore (--keystore or
CROWDCOMPUTE_KEYSTORE; password from CROWDCOMPUTE_KEYSTORE_PASSWORD or a prompt). Before anything is sent,
the key, the node, the chain id (--chain-id must match the node) and the key's fitness for that chain are
checked; anvil's public dev keys are refused on any chain id but 31337 and 1337.

\b
Examples:
  CROWDCOMPUTE_PRIVATE_KEY=0x... scripts/deploy.py --chain-id 31337
  scripts/deploy.py --rpc-url https://rpc.example --chain-id 11155111 \\
      --keystore ~/.crowd/deployer.json
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from chain import (
    DEFAULT_CONFIG,
    DEPLOYMENTS_DIR,
    ChainError,
    GovernanceSetup,
    MarketConfig,
    Supply,
    deploy,
    deployment_path,
    to_jsonable,
    tokens,
)

app = typer.Typer(add_completion=False, rich_markup_mode=None)


@app.command(help=__doc__)
def main(
    chain_id: Annotated[int, typer.Option(help="The chain id the node must serve (checked before sending).")],
    rpc_url: Annotated[
        str, typer.Option(envvar="CROWDCOMPUTE_RPC_URL", help="JSON-RPC endpoint of the node.")
    ] = "http://127.0.0.1:8545",
    keystore: Annotated[
        Path | None, typer.Option(help="Encrypted keystore of the deployer (else CROWDCOMPUTE_PRIVATE_KEY).")
    ] = None,
    treasury: Annotated[
        str | None, typer.Option(help="Receives the initial supply (default: the deployer).")
    ] = None,
    initial_supply: Annotated[float, typer.Option(help="Tokens minted to the treasury now.")] = 100_000_000,
    cap: Annotated[
        float, typer.Option(help="Most tokens that can ever exist; the rest funds rewards.")
    ] = 1e9,
    unbonding_delay: Annotated[int, typer.Option(help="Seconds from requestUnbond to withdrawal.")] = (
        DEFAULT_CONFIG.unbonding_delay
    ),
    min_provider_stake: Annotated[float, typer.Option(help="Tokens a provider must stake to claim.")] = 100,
    min_validator_stake: Annotated[float, typer.Option(help="Tokens a validator must stake to vote.")] = 100,
    validator_slash: Annotated[
        float, typer.Option(help="Tokens taken from a validator on the losing side.")
    ] = 10,
    reward_bps: Annotated[
        int,
        typer.Option(help="Reward for committee-verified work, in basis points of the budget (< fee-bps)."),
    ] = (DEFAULT_CONFIG.reward_bps),
    timelock_delay: Annotated[
        int | None,
        typer.Option(
            help="Seconds a parameter change waits in the timelock (default: 60 on a dev chain, 2 days else)."
        ),
    ] = None,
    proposer: Annotated[
        list[str] | None,
        typer.Option(
            help="May schedule parameter changes on the timelock; repeat for several (default: the deployer)."
        ),
    ] = None,
    executor: Annotated[
        list[str] | None,
        typer.Option(
            help="May execute scheduled changes once ready; repeat for several (default: the deployer)."
        ),
    ] = None,
    guardian: Annotated[
        str | None, typer.Option(help="May pause new posts and claims at once (default: the deployer).")
    ] = None,
    fee_bps: Annotated[
        int, typer.Option(help="Protocol fee burned on acceptance, in basis points of the budget.")
    ] = (DEFAULT_CONFIG.fee_bps),
    min_collateral_bps: Annotated[
        int, typer.Option(help="Least collateral a job may ask for, in basis points of its budget.")
    ] = (DEFAULT_CONFIG.min_collateral_bps),
    epoch_length: Annotated[int, typer.Option(help="Seconds per reward epoch.")] = (
        DEFAULT_CONFIG.epoch_length
    ),
    epoch_reward_cap: Annotated[
        float, typer.Option(help="Most reward tokens owed to providers per epoch.")
    ] = 250_000,
    deployments_dir: Annotated[Path, typer.Option(help="Where deployments/<chainId>.json is written.")] = (
        DEPLOYMENTS_DIR
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print the deployment as JSON.")] = False,
) -> None:
    """Deploy CrowdMarket and record it in deployments/<chainId>.json."""
    config = MarketConfig(
        unbonding_delay=unbonding_delay,
        min_provider_stake=tokens(min_provider_stake),
        min_validator_stake=tokens(min_validator_stake),
        validator_slash=tokens(validator_slash),
        reward_bps=reward_bps,
        fee_bps=fee_bps,
        min_collateral_bps=min_collateral_bps,
        epoch_length=epoch_length,
        epoch_reward_cap=tokens(epoch_reward_cap),
    )
    try:
        deployment = deploy(
            rpc_url,
            expected_chain_id=chain_id,
            keystore=keystore,
            config=config,
            supply=Supply(initial=tokens(initial_supply), cap=tokens(cap)),
            treasury=treasury,
            save_dir=deployments_dir,
            governance=GovernanceSetup(
                min_delay=timelock_delay,
                proposers=tuple(proposer or ()),
                executors=tuple(executor or ()),
                guardian=guardian,
            ),
        )
    except ChainError as exc:
        typer.echo(f"{type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(to_jsonable(deployment), indent=2))
    else:
        typer.echo(f"CrowdMarket {deployment.market}\nCrowdToken  {deployment.token}")
        if deployment.governance is not None:
            gov = deployment.governance
            typer.echo(
                f"governor    {gov.timelock} (timelock, {gov.min_delay} s delay; "
                f"proposers {', '.join(gov.proposers)}; executors {', '.join(gov.executors)})\n"
                f"guardian    {gov.guardian}"
            )
        typer.echo(
            f"block {deployment.block_number}; recorded in {deployment_path(chain_id, deployments_dir)}"
        )


if __name__ == "__main__":
    app()
