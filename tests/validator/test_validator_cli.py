"""`crowdcompute validator register|status|run --help` against the real anvil and market, with --json.

The acting key is dev account 9: the chain suites' module-level casts (tests/chain/market_cast.py,
tests/api/chain_cast.py) never register it, and every test here runs in a snapshot (`dev_chain`).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chain import (
    DEV_ADDRESSES,
    DEV_PRIVATE_KEYS,
    AnvilProcess,
    Capabilities,
    Deployment,
    DevChain,
    MarketClient,
    Role,
    dev_account,
    save_deployment,
    tokens,
)
from tests.cli_support.json_cli import connection_args, json_cli
from validator import cli as validator_cli
from validator.cli import validator_app
from validator.config import ValidatorConfig
from validator.errors import ValidatorError
from validator.state import Phase, Verification, VerificationStore

KEY_INDEX = 9
ADDRESS = DEV_ADDRESSES[KEY_INDEX]
MINIMUM = tokens(100)  # TEST_CONFIG.min_validator_stake in tests/conftest.py
FUNDING = tokens(10_000)  # TEST_FUNDING

Cli = Callable[..., dict[str, Any]]


@pytest.fixture(autouse=True)
def root_handlers() -> Iterator[None]:
    """`validator run` sets the daemon's logging up on the root logger, writing to the CliRunner's stream,
    which is closed once the command returns: put the handlers back, or a later CLI test in this process
    finds "--- Logging error ---" in its own stderr."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def deployments_dir(tmp_path: Path, deployment: Deployment) -> Path:
    folder = tmp_path / "deployments"
    save_deployment(deployment, folder)
    return folder


@pytest.fixture
def cli(anvil: AnvilProcess, deployments_dir: Path, tmp_path: Path, dev_chain: DevChain) -> Cli:
    options = connection_args(anvil.url, deployments_dir, tmp_path / "no-devnet")
    return json_cli(validator_app, options, {"CROWDCOMPUTE_PRIVATE_KEY": DEV_PRIVATE_KEYS[KEY_INDEX]})


@pytest.fixture
def me(market: MarketClient) -> MarketClient:
    return market.with_account(dev_account(KEY_INDEX))


def roster_weights(market: MarketClient) -> dict[str, int]:
    """The live roster now, validator -> weight (its bonded stake)."""
    roster = market.roster_feed.at(market.roster_root(), market.rpc.block_number())
    return {member.validator: member.weight for member in roster.members()}


def test_register_stakes_the_minimum_and_joins_the_list(cli: Cli, me: MarketClient) -> None:
    before = roster_weights(me)
    out = cli("register")
    assert out["address"] == ADDRESS
    assert out["staked"]["amount"] == out["staked"]["total"] == out["stake"] == str(MINIMUM)
    assert out["index"] is not None and out["registered"]["tx_hash"].startswith("0x")
    for sent in (out["registered"], out["staked"]):  # the one shape of a sent transaction
        assert sent["status"] == "success" and sent["block"] > 0 and sent["gas_used"] > 0
    account = me.account_of()
    assert (account.role, account.stake) == (Role.VALIDATOR, MINIMUM)
    assert roster_weights(me) == {**before, ADDRESS: MINIMUM}, "on the roster, weighted by its stake"
    assert me.token.balance_of() == FUNDING - MINIMUM


def test_register_with_more_stake_then_tops_up_once_registered(cli: Cli, me: MarketClient) -> None:
    first = cli("register", "--stake", "250.5")
    assert first["stake"] == str(tokens("250.5")) and first["index"] is not None
    again = cli("register", "--stake", "10")
    assert again["index"] is None and "registered" not in again, "joining the list happens once"
    assert again["staked"]["amount"] == str(tokens(10)) and again["stake"] == str(tokens("260.5"))
    nothing = cli("register")
    assert nothing["index"] is None and "staked" not in nothing and nothing["stake"] == str(tokens("260.5"))
    assert roster_weights(me)[ADDRESS] == tokens("260.5"), "one leaf, its weight the whole stake"
    assert me.account_of().stake == tokens("260.5")


def test_status_shows_the_stake_and_the_seats_of_the_data_dir(
    cli: Cli, me: MarketClient, tmp_path: Path
) -> None:
    data_dir = tmp_path / "validator"
    fresh = cli("status", "--data-dir", str(data_dir))
    assert fresh["address"] == ADDRESS and fresh["verifications"] == []
    assert fresh["account"] == {
        "role": "None",
        "stake": "0",
        "unbonding": "0",
        "balance": "0",
        "reward_owed": "0",
    }
    assert not data_dir.exists(), "status only reads; it creates no state"

    cli("register", "--stake", "150")
    store = VerificationStore(data_dir / "state.db")
    store.put(
        Verification(
            job_id=4,
            attempt=1,
            phase=Phase.VOTED,
            seats=[1],
            approve=False,
            reason="segment 5 recomputes to another state",
            evidence={"segment": 6, "committed": "aa" * 32, "recomputed": "bb" * 32},
            cpu_s=3.5,
        )
    )
    store.put(Verification(job_id=2, attempt=1, phase=Phase.ABSTAINED, reason="no engine"))
    store.close()

    status = cli("status", "--data-dir", str(data_dir))
    assert status["account"]["role"] == "Validator" and status["account"]["stake"] == str(tokens(150))
    seats = status["verifications"]
    assert [(s["job_id"], s["phase"], s["approve"]) for s in seats] == [
        (2, "abstained", None),
        (4, "voted", False),
    ]
    assert seats[1]["evidence"]["segment"] == 6 and seats[1]["cpu_s"] == 3.5


def test_status_in_words_lists_every_seat(
    anvil: AnvilProcess, deployments_dir: Path, tmp_path: Path, dev_chain: DevChain
) -> None:
    data_dir = tmp_path / "validator"
    store = VerificationStore(data_dir / "state.db")
    store.put(
        Verification(
            job_id=11,
            attempt=2,
            phase=Phase.FINALIZED,
            approve=True,
            cpu_s=1.25,
            outcome="accepted",
            reason="4 checks matched",
        )
    )
    store.close()
    args = [
        "status",
        "--data-dir",
        str(data_dir),
        "--rpc-url",
        anvil.url,
        "--deployments-dir",
        str(deployments_dir),
    ]
    args += ["--devnet-dir", str(tmp_path / "no-devnet")]
    result = CliRunner().invoke(
        validator_app, args, env={"CROWDCOMPUTE_PRIVATE_KEY": DEV_PRIVATE_KEYS[KEY_INDEX], "COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert f"validator {ADDRESS} (None)" in result.stdout
    assert "seats    1" in result.stdout
    assert (
        "job 11 (attempt 2): finalized, accept, 1.2 CPU s, outcome accepted: 4 checks matched"
        in result.stdout
    )


def test_register_refuses_a_stake_below_the_minimum_before_staking_anything(
    cli: Cli, me: MarketClient
) -> None:
    out = cli("register", "--stake", "50", ok=False)
    assert out["error"] == "ValueError"
    assert (
        "below the validator minimum of 100 CROWD" in out["message"]
        and "--stake 100 or more" in out["message"]
    )
    account = me.account_of()
    assert (account.role, account.stake) == (Role.NONE, 0), "nothing was staked"
    assert me.token.balance_of() == FUNDING


def test_register_counts_stake_already_held_toward_the_minimum(cli: Cli, me: MarketClient) -> None:
    me.stake(tokens(60))
    short = cli("register", "--stake", "30", ok=False)
    assert "leaves 90 CROWD staked" in short["message"] and "--stake 40 or more" in short["message"]
    out = cli("register")  # tops up exactly the missing 40
    assert out["staked"]["amount"] == str(tokens(40)) and out["stake"] == str(MINIMUM)
    assert me.account_of().role == Role.VALIDATOR


def test_register_without_tokens_fails_with_the_decoded_revert(cli: Cli, me: MarketClient) -> None:
    me.token.transfer(DEV_ADDRESSES[0], me.token.balance_of())
    out = cli("register", ok=False)
    assert out["error"] == "ContractRevert"
    assert "holds 0 CROWD; 100 CROWD needed: send it 100 CROWD more first" in out["message"]
    assert me.account_of().role == Role.NONE and ADDRESS not in roster_weights(me)
    too_much = cli("register", "--stake", "999999", ok=False)
    assert "999999 CROWD needed" in too_much["message"]


@pytest.mark.parametrize(
    ("stake", "message"),
    [("-3", "--stake must be > 0 tokens"), ("ten", "is not a number of tokens"), ("0", "must be > 0")],
)
def test_register_refuses_a_stake_that_is_not_an_amount(
    cli: Cli, me: MarketClient, stake: str, message: str
) -> None:
    out = cli("register", "--stake", stake, ok=False)
    assert out["error"] == "ValueError" and message in out["message"]
    assert me.account_of().stake == 0


def test_register_refuses_a_providers_account(cli: Cli, me: MarketClient) -> None:
    me.register_provider(Capabilities(cpu_cores=1, memory_mib=1024, price_per_hour=tokens(1)), b"\x01" * 32)
    out = cli("register", ok=False)
    assert "registered as a provider; roles are exclusive" in out["message"]
    assert me.account_of().role == Role.PROVIDER and me.account_of().stake == 0


def test_a_missing_key_is_one_clear_line(anvil: AnvilProcess, deployments_dir: Path, tmp_path: Path) -> None:
    args = ["status", "--rpc-url", anvil.url, "--deployments-dir", str(deployments_dir), "--json"]
    args += ["--devnet-dir", str(tmp_path / "no-devnet"), "--data-dir", str(tmp_path / "v")]
    result = CliRunner().invoke(validator_app, args, env={"CROWDCOMPUTE_PRIVATE_KEY": ""})
    assert result.exit_code == 1
    assert "CROWDCOMPUTE_PRIVATE_KEY" in json.loads(result.stdout)["message"]


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("register", ["--stake", "--keystore", "--json"]),
        ("status", ["--data-dir", "--json"]),
        (
            "run",
            [
                "--data-dir",
                "--store-dir",
                "--workers",
                "--poll-interval",
                "--no-finalize",
                "--max-appeal-bond",
                "--json",
            ],
        ),
    ],
)
def test_help_of_each_command(command: str, options: list[str]) -> None:
    result = CliRunner().invoke(validator_app, [command, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    for option in options:
        assert option in result.stdout, (command, option)


def test_run_without_a_gateway_refuses_to_start_naming_the_option(cli: Cli, tmp_path: Path) -> None:
    cli("register")
    out = cli("run", "--gateway", "", "--data-dir", str(tmp_path / "node"), ok=False)
    assert "--gateway is required" in out["message"] and "signed votes" in out["message"]


@pytest.mark.parametrize(
    ("given", "limit"),
    [([], None), (["--max-appeal-bond", "0"], 0), (["--max-appeal-bond", "2.5"], tokens("2.5"))],
    ids=["default-seat-bond", "zero-never", "fixed"],
)
def test_run_passes_max_appeal_bond_to_the_node_none_when_not_given(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: list[str], limit: int | None
) -> None:
    """Not given: None, which the node reads as "up to the seat bond at stake" (test_appeal_decision.py)."""
    built: list[ValidatorConfig] = []

    def config(**fields: Any) -> ValidatorConfig:
        built.append(ValidatorConfig(**fields))
        raise ValidatorError("stopped before the daemon starts")

    monkeypatch.setattr(validator_cli, "ValidatorConfig", config)
    out = cli("run", "--data-dir", str(tmp_path / "node"), *given, ok=False)
    assert "stopped before the daemon starts" in out["message"]
    assert [c.max_appeal_bond for c in built] == [limit]


def test_run_help_says_what_max_appeal_bond_defaults_to() -> None:
    result = CliRunner().invoke(validator_app, ["run", "--help"], env={"COLUMNS": "400", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert (
        "Default: the bond one of its seats in that round loses if the decision stands; 0: never appeal."
        in (text)
    )


def test_the_crowdcompute_command_carries_the_validator_noun() -> None:
    """Through the installed entry point, as a user types it."""
    result = subprocess.run(
        [sys.executable, "-c", "from crowdcompute.cli import main; main()", "validator", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "NO_COLOR": "1", "PATH": ""},
    )
    assert result.returncode == 0, result.stderr
    for command in ("register", "status", "run"):
        assert command in result.stdout
