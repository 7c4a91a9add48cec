"""Running a noun's commands as a script does: the connection options and `--json`, one JSON document back,
and an error as one line with exit status 1."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

JsonCli = Callable[..., dict[str, Any]]


def connection_args(rpc_url: str, deployments_dir: Path, devnet_dir: Path) -> list[str]:
    """The options every chain command takes, pointed at a test chain (and at no devnet)."""
    return ["--rpc-url", rpc_url, "--deployments-dir", str(deployments_dir), "--devnet-dir", str(devnet_dir)]


def json_cli(app: typer.Typer, options: list[str], env: Mapping[str, str | None]) -> JsonCli:
    """`invoke(*args, ok=True, env=None)`: run `app` with `args`, `options` and `--json`; the JSON printed.
    `env` adds to (or, with None values, removes from) the environment given here."""
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True, env: Mapping[str, str | None] | None = None) -> dict[str, Any]:
        result = runner.invoke(app, [*args, *options, "--json"], env={**base, **(env or {})})
        assert (result.exit_code == 0) == ok, result.output
        if not ok:
            lines = result.stdout.strip().splitlines()
            assert len(lines) == 1, f"an error is one line: {result.stdout!r}"
        return dict(json.loads(result.stdout))

    base = dict(env)
    return invoke
