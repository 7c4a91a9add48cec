"""Fixtures of the chain tests: the market's cast registered once per test module, then rolled back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chain import Artifacts, Deployment, DevChain, MarketClient, Rpc, TxSender, dev_account
from tests.chain.market_cast import PROVIDER_CAPS, PROVIDER_STAKE, VALIDATOR_STAKE, Cast


@pytest.fixture(scope="module")
def registered(rpc: Rpc, deployment: Deployment, artifacts: Artifacts, sender: TxSender) -> Iterator[None]:
    """Providers (dev 2, 3) and validators (dev 4..8) registered and staked for one test module.

    Rolled back when the module ends, so other suites sharing the session's chain never see these roles.
    """
    chain = DevChain(rpc)
    snapshot = chain.snapshot()
    base = MarketClient(rpc, deployment, artifacts=artifacts, sender=sender)
    for index in (2, 3):
        provider = base.with_account(dev_account(index))
        provider.register_provider(PROVIDER_CAPS, b"\x01" * 32)
        provider.stake(PROVIDER_STAKE)
    for index in range(4, 9):
        validator = base.with_account(dev_account(index))
        validator.stake(VALIDATOR_STAKE)
        validator.register_validator()
    yield
    chain.revert(snapshot)
    sender.reset_nonces()


@pytest.fixture
def cast(market: MarketClient, registered: None) -> Cast:
    return Cast(
        deployer=market,
        requester=market.with_account(dev_account(1)),
        provider=market.with_account(dev_account(2)),
        provider_b=market.with_account(dev_account(3)),
        validators=[market.with_account(dev_account(i)) for i in range(4, 9)],
        outsider=market.with_account(dev_account(9)),
    )
