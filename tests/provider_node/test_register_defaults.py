"""`crowdcompute provider register` with no option at all (issue 13, problem 3): the probed capabilities
and the default price, 1 token per hour of runTimeout, which `--help` states."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from chain import DEV_PRIVATE_KEYS, PROVIDER_ACCOUNTS, AnvilProcess, DevChain, MarketClient, tokens
from provider_node.cli import provider_app
from tests.cli_support.json_cli import connection_args, json_cli

ACCOUNT = PROVIDER_ACCOUNTS[0]


def test_register_without_a_price_takes_the_default(
    anvil: AnvilProcess, deployments_dir: Path, tmp_path: Path, dev_chain: DevChain, market: MarketClient
) -> None:
    options = connection_args(anvil.url, deployments_dir, tmp_path / "no-devnet")
    cli = json_cli(provider_app, options, {"CROWDCOMPUTE_PRIVATE_KEY": DEV_PRIVATE_KEYS[ACCOUNT]})
    out = cli("register", "--data-dir", str(tmp_path / "node"))
    assert out["capabilities"]["pricePerHour"] == str(tokens(1))
    assert market.capabilities_of(out["address"]).price_per_hour == tokens(1)
    assert out["capabilities"]["cpuCores"] >= 1


def test_help_states_the_default_price() -> None:
    shown = CliRunner().invoke(provider_app, ["register", "--help"], env={"COLUMNS": "200"}).output
    assert "--price" in shown and "[default: 1]" in shown
