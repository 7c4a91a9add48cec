"""The configuration fields every node has, and the roles' configurations built on them."""

from __future__ import annotations

from pathlib import Path

import pytest

from node_base import NodeConfigBase
from provider_node.config import NodeConfig
from validator.config import ValidatorConfig


@pytest.mark.parametrize("config_type", [NodeConfigBase, NodeConfig, ValidatorConfig])
def test_every_node_keeps_its_files_under_its_data_dir(config_type: type[NodeConfigBase]) -> None:
    config = config_type(data_dir=Path("~/node"), poll_interval_s=0.5, confirmations=2)
    home = Path("~").expanduser()
    assert config.data_dir == home / "node"
    assert (config.state_path, config.checkpoint_path, config.bundles_dir) == (
        home / "node/state.db",
        home / "node/events.json",
        home / "node/bundles",
    )
    assert (config.poll_interval_s, config.confirmations) == (0.5, 2)


@pytest.mark.parametrize("config_type", [NodeConfigBase, NodeConfig, ValidatorConfig])
def test_a_poll_interval_must_be_positive(config_type: type[NodeConfigBase]) -> None:
    with pytest.raises(ValueError, match="poll_interval_s must be > 0"):
        config_type(data_dir=Path("n"), poll_interval_s=0)


def test_the_roles_keep_their_defaults_and_their_own_checks() -> None:
    assert NodeConfig().data_dir == Path("~/.crowdcompute/provider").expanduser()
    assert ValidatorConfig().data_dir == Path("~/.crowdcompute/validator").expanduser()
    assert NodeConfig().runs_dir.name == "runs" and ValidatorConfig().work_dir.name == "work"
    with pytest.raises(ValueError, match="capacity must be at least 1"):
        NodeConfig(capacity=0)
    with pytest.raises(ValueError, match="workers must be at least 1"):
        ValidatorConfig(workers=0)
