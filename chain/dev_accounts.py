"""The ten public development accounts every anvil node starts with (mnemonic `test test ... junk`).

These keys are published by Foundry and known to everyone: they are for the local dev chain only, and
`chain.keys` refuses them on any chain id other than 31337 or 1337.
"""

from __future__ import annotations

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils import to_checksum_address

from chain.types import DEV_CHAIN_IDS

DEV_MNEMONIC = "test test test test test test test test test test test junk"

DEV_PRIVATE_KEYS: tuple[str, ...] = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
)

DEV_ADDRESSES: tuple[ChecksumAddress, ...] = tuple(
    to_checksum_address(Account.from_key(key).address) for key in DEV_PRIVATE_KEYS
)
_DEV_ADDRESS_SET = frozenset(a.lower() for a in DEV_ADDRESSES)


def is_dev_address(address: str) -> bool:
    """True for one of anvil's ten default accounts."""
    return address.lower() in _DEV_ADDRESS_SET


def is_dev_chain(chain_id: int) -> bool:
    return chain_id in DEV_CHAIN_IDS


def dev_account(index: int) -> LocalAccount:
    """Anvil's default account `index` (0..9): only for a local dev chain."""
    account: LocalAccount = Account.from_key(DEV_PRIVATE_KEYS[index])
    return account
