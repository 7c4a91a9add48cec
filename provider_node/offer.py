"""What the node offers, as the chain has it: registered capabilities and price, stake, the market's minimum.

Read through `accountOf`/`capabilitiesOf` and trusted for `refresh_s`; the node's own claims are counted
in between (`spent`), and anything surprising (a refused claim) forces a fresh read (`invalidate`).
"""

from __future__ import annotations

import time

from chain import Capabilities, MarketClient, MarketConfig
from provider_node.matching import Offer

__all__ = ["OfferReader"]


class OfferReader:
    def __init__(self, market: MarketClient, *, capacity: int, floor: int | None, refresh_s: float) -> None:
        self.market = market
        self.capacity = capacity
        self.floor = floor
        self.refresh_s = refresh_s
        self.capabilities = Capabilities()
        self._read_at = -1e9
        self._stake = self._free_stake = 0
        self._config: MarketConfig | None = None

    def invalidate(self) -> None:
        self._read_at = -1e9

    def spent(self, collateral: int) -> None:
        """A claim just locked `collateral` of the free stake."""
        self._free_stake -= collateral

    def read(self, active_jobs: int) -> tuple[Offer, bool]:
        """The offer now, and whether the capabilities or price changed since the last read."""
        changed = False
        if time.monotonic() - self._read_at > self.refresh_s:
            capabilities = self.market.capabilities_of()
            changed = capabilities != self.capabilities
            self.capabilities = capabilities
            account = self.market.account_of()
            self._stake, self._free_stake = account.stake, account.free_stake
            if self._config is None:
                self._config = self.market.config()
            self._read_at = time.monotonic()
        offer = Offer(
            address=self.market.me,
            capabilities=self.capabilities,
            price_floor=self.capabilities.price_per_hour if self.floor is None else self.floor,
            stake=self._stake,
            free_stake=self._free_stake,
            min_stake=self._config.min_provider_stake if self._config else 0,
            active_jobs=active_jobs,
            capacity=self.capacity,
        )
        return offer, changed
