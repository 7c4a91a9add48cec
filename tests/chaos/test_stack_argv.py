"""What the chaos stack adds to each node's command line: more job slots per provider, more verification
workers per validator, its own idle poll (the demo's command otherwise, unchanged)."""

from __future__ import annotations

from pathlib import Path

from crowdcompute.chaos.stack import ChaosStack
from crowdcompute.demo.stack import Node

RUN = ("run", "--data-dir", "/d", "--poll-interval", "0.25")


def _option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def test_the_chaos_stack_gives_providers_slots_validators_workers_and_its_own_poll(tmp_path: Path) -> None:
    stack = ChaosStack(tmp_path, provider_capacity=2, validator_workers=3, poll_interval_s=0.5)
    provider = stack._role_argv(Node("provider", 1, 2, tmp_path / "p"), *RUN)
    validator = stack._role_argv(Node("validator", 1, 5, tmp_path / "v"), *RUN)

    assert (_option(provider, "--capacity"), _option(provider, "--workers")) == ("2", None)
    assert (_option(validator, "--workers"), _option(validator, "--capacity")) == ("3", None)
    assert _option(provider, "--poll-interval") == _option(validator, "--poll-interval") == "0.5"
    assert provider.count("--poll-interval") == 1


def test_by_default_the_chaos_stack_runs_the_demo_s_node_commands(tmp_path: Path) -> None:
    stack = ChaosStack(tmp_path)
    node = Node("provider", 1, 2, tmp_path / "p")
    argv = stack._role_argv(node, *RUN)

    assert "--capacity" not in argv and _option(argv, "--poll-interval") == "0.25"
    assert argv[-len(RUN) - 2 :] == [*RUN, "--devnet-dir", str(stack.devnet_dir)]
