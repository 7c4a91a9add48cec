"""`crowdcompute market status|pause|unpause`, and `job submit` on a paused market."""

from __future__ import annotations

from pathlib import Path

import pytest

from chain import DEV_PRIVATE_KEYS, MARKET_PAUSED_MESSAGE, REQUESTER_ACCOUNT, AnvilProcess, MarketClient
from crowdcompute.market_cli import market_app
from crowdcompute.requester import MarketIsPaused, submit_job
from jobs.store import EmbeddedStore
from tests.cli_support.json_cli import connection_args, json_cli


def test_market_status_pause_and_unpause(
    anvil: AnvilProcess, deployments_dir: Path, market: MarketClient, tmp_path: Path
) -> None:
    options = connection_args(anvil.url, deployments_dir, tmp_path / "no-devnet")
    key = "CROWDCOMPUTE_PRIVATE_KEY"
    guardian = json_cli(market_app, options, {key: DEV_PRIVATE_KEYS[0]})
    outsider = json_cli(market_app, options, {key: DEV_PRIVATE_KEYS[REQUESTER_ACCOUNT]})

    status = guardian("status")
    assert status["paused"] is False
    assert status["guardian"] == market.guardian() == market.me
    assert status["governor"] == market.governor()
    assert status["timelockDelay"] == 60
    assert status["config"]["rewardBps"] == str(market.config().reward_bps)

    refused = outsider("pause", ok=False)
    assert refused["message"].startswith("only the market's guardian")
    assert guardian("pause")["paused"] is True
    assert guardian("status")["paused"] is True and market.paused()
    assert guardian("unpause")["paused"] is False
    assert not market.paused()


def test_submit_refuses_a_paused_market_before_packing(
    market: MarketClient, store: EmbeddedStore, tmp_path: Path
) -> None:
    market.pause()
    with pytest.raises(MarketIsPaused) as refused:
        submit_job(market, tmp_path / "not-even-a-job", store=store)  # refused before the folder is read
    assert str(refused.value).startswith(MARKET_PAUSED_MESSAGE)
