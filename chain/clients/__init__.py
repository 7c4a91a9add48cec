"""Typed contract clients: `MarketClient` (the CrowdMarket deployment), `TokenClient` (CROWD) and
`KeyReleaseClient` (sealed keys of confidential jobs, `market.key_release()`)."""

from chain.clients.key_release import KeyReleaseClient, KeyReleaseTx, SealedKey
from chain.clients.market import MarketClient
from chain.clients.token import TokenClient

__all__ = ["KeyReleaseClient", "KeyReleaseTx", "MarketClient", "SealedKey", "TokenClient"]
