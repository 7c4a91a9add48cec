"""Typed contract clients: `MarketClient` (the CrowdMarket deployment) and `TokenClient` (CROWD)."""

from chain.clients.market import MarketClient
from chain.clients.token import TokenClient

__all__ = ["MarketClient", "TokenClient"]
