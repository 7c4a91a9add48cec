"""Negative token amounts, wherever a command takes tokens, are refused as "must be > 0" before anything is
sent (issue 13, problem 5): an argument such as `provider stake -1` reaches the command instead of being
read as an unknown option ("No such option: -1"). No chain: the RPC URL answers nothing, so a command that
got past the amount would fail on the connection instead."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from chain.anvil import free_port
from crowdcompute.job_cli import job_app
from provider_node.cli import provider_app
from validator.cli import validator_app

KEY = {"CROWDCOMPUTE_PRIVATE_KEY": "0x" + "11" * 32}


def refused(app: typer.Typer, args: list[str], tmp_path: Path) -> str:
    nowhere = ["--rpc-url", f"http://127.0.0.1:{free_port()}", "--devnet-dir", str(tmp_path / "none")]
    result = CliRunner().invoke(app, [*args, *nowhere, "--json"], env=KEY)
    assert result.exit_code == 1, result.output
    error = json.loads(result.stdout)
    assert error["error"] == "ValueError", error
    return str(error["message"])


@pytest.mark.parametrize(
    ("app", "args", "message"),
    [
        (provider_app, ["stake", "-1"], "amount must be > 0 tokens, got -1"),
        (provider_app, ["stake", "-0.5", "--permit"], "amount must be > 0 tokens, got -0.5"),
        (provider_app, ["unstake", "-1"], "amount must be > 0 tokens, got -1"),
        (provider_app, ["stake", "0"], "amount must be > 0 tokens, got 0"),
        (validator_app, ["register", "--stake", "-1"], "--stake must be > 0 tokens, got -1"),
        (provider_app, ["register", "--price", "-1"], "--price must be >= 0 tokens, got -1"),
        (job_app, ["submit", "folder", "--budget", "-1"], "--budget must be > 0 tokens, got -1"),
    ],
)
def test_a_negative_amount_is_refused_as_must_be_positive(
    app: typer.Typer, args: list[str], message: str, tmp_path: Path
) -> None:
    assert refused(app, args, tmp_path) == message


def test_an_unknown_option_after_an_amount_is_still_an_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(provider_app, ["stake", "5", "--no-such-flag"], env=KEY)
    assert result.exit_code == 2 and "--no-such-flag" in result.output
