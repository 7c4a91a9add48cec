"""Keys and API keys the gateway tests configure and sign with."""

from __future__ import annotations

from eth_account import Account

TEST_API_KEY = "test-key-123"
PROVIDER_KEY = "0x" + "42" * 32
PROVIDER_ADDRESS = Account.from_key(PROVIDER_KEY).address.lower()
PROVIDER_API_KEY = "provider-key-456"
OTHER_KEY = "0x" + "43" * 32
