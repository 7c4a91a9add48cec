"""The connection options: declared once, accepted after the noun or after the command, resolved into one
`ChainOptions` per command line (the command's own command line wins), on a scratch noun and the real ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from chain.anvil import free_port
from cli_support import DEFAULT_DEPLOYMENTS, DEFAULT_DEVNET, ChainOptions, chain_options, connection_callback
from crowdcompute.job_cli import job_app
from provider_node.cli import provider_app
from validator.cli import validator_app

runner = CliRunner()
seen: list[tuple[str, ChainOptions]] = []

noun = typer.Typer(callback=connection_callback, no_args_is_help=True)


@noun.command("write")
@chain_options()
def write(name: str = "x", *, opts: ChainOptions) -> None:
    seen.append((name, opts))


@noun.command("read")
@chain_options(keystore=False)
def read(*, opts: ChainOptions) -> None:
    seen.append(("read", opts))


@noun.command("logs")
@chain_options(chain=False)
def logs(*, opts: ChainOptions) -> None:
    seen.append(("logs", opts))


def resolved(*args: str, env: dict[str, str] | None = None) -> ChainOptions:
    seen.clear()
    result = runner.invoke(noun, list(args), env={"CROWDCOMPUTE_RPC_URL": "", **(env or {})})
    assert result.exit_code == 0, result.output
    assert len(seen) == 1, "the command ran once with one set of options"
    return seen[0][1]


def test_without_options_the_defaults_hold() -> None:
    assert resolved("write") == ChainOptions(None, DEFAULT_DEPLOYMENTS, DEFAULT_DEVNET, None, False)


@pytest.mark.parametrize(
    "args",
    [
        ["write", "--rpc-url", "http://a", "--keystore", "k.json", "--devnet-dir", "d", "--json"],
        ["--rpc-url", "http://a", "--keystore", "k.json", "--devnet-dir", "d", "--json", "write"],
        ["--rpc-url", "http://a", "--json", "write", "--keystore", "k.json", "--devnet-dir", "d"],
    ],
)
def test_options_are_taken_after_the_noun_or_after_the_command(args: list[str]) -> None:
    opts = resolved(*args)
    assert (opts.rpc_url, opts.keystore, opts.devnet_dir, opts.as_json) == (
        "http://a",
        Path("k.json"),
        Path("d"),
        True,
    )


def test_the_commands_own_command_line_wins_over_the_nouns() -> None:
    opts = resolved("--rpc-url", "http://noun", "--deployments-dir", "n", "write", "--rpc-url", "http://cmd")
    assert (opts.rpc_url, opts.deployments_dir) == ("http://cmd", Path("n"))


def test_environment_variables_count_and_the_command_line_beats_them() -> None:
    env = {"CROWDCOMPUTE_RPC_URL": "http://env", "CROWDCOMPUTE_DEPLOYMENTS_DIR": "env-deployments"}
    assert resolved("write", env=env).rpc_url == "http://env"
    assert resolved("--rpc-url", "http://noun", "write", env=env).rpc_url == "http://noun"
    assert resolved("write", "--deployments-dir", "cmd", env=env).deployments_dir == Path("cmd")


def test_a_commands_own_parameters_are_untouched() -> None:
    seen.clear()
    assert runner.invoke(noun, ["write", "--name", "y", "--json"]).exit_code == 0
    assert seen[0][0] == "y" and seen[0][1].as_json


def test_a_reading_command_takes_no_keystore_and_a_json_only_command_no_chain_options() -> None:
    assert resolved("read", "--rpc-url", "http://a").rpc_url == "http://a"
    assert runner.invoke(noun, ["read", "--keystore", "k.json"]).exit_code == 2
    assert resolved("logs", "--json").as_json
    assert runner.invoke(noun, ["logs", "--rpc-url", "http://a"]).exit_code == 2
    assert resolved("--rpc-url", "http://noun", "logs").rpc_url == "http://noun"


@pytest.mark.parametrize(
    ("app", "command"),
    [(provider_app, ["status"]), (validator_app, ["status"]), (job_app, ["status", "1"])],
)
def test_the_real_nouns_take_the_options_before_and_after_the_command(
    app: typer.Typer, command: list[str], tmp_path: Path
) -> None:
    """No chain answers at the URL, so the error names it: the option reached the connection."""
    dead = f"http://127.0.0.1:{free_port()}"
    options = ["--rpc-url", dead, "--json", "--devnet-dir", str(tmp_path / "none")]
    for args in ([*command, *options], [*options, *command]):
        result = runner.invoke(app, args, env={"CROWDCOMPUTE_RPC_URL": ""})
        assert result.exit_code == 1, result.output
        error = json.loads(result.stdout)
        assert error["error"] == "RpcUnreachable" and dead in error["message"]
