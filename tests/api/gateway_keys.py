"""Keys and API keys the gateway tests configure and sign with."""

from __future__ import annotations

from eth_account import Account

TEST_API_KEY = "test-key-123"
PROVIDER_KEY = "0x" + "42" * 32
PROVIDER_ADDRESS = Account.from_key(PROVIDER_KEY).address.lower()
PROVIDER_API_KEY = "provider-key-456"
OTHER_KEY = "0x" + "43" * 32
OTHER_ADDRESS = Account.from_key(OTHER_KEY).address.lower()

TEST_GATEWAY = "testserver"
"""The Host a `TestClient` sends: the `gateway` its signed requests name."""
STAKED = {PROVIDER_ADDRESS: 50 * 10**18, OTHER_ADDRESS: 50 * 10**18}
"""Tokens (base units) at stake per address in tests without a chain; any other address has none."""


def staked_in_tests(address: str) -> int:
    """`Gateway.upload_stake` for tests without a chain: the provider and the other key are funded."""
    return STAKED.get(address.lower(), 0)
