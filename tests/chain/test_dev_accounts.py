"""The dev accounts' roles: one table (chain/dev_accounts.py) for the demo, `devnet status` and the dApp,
shown with their public keys on a dev chain only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chain import (
    CHEATER_ACCOUNT,
    DEPLOYER_ACCOUNT,
    DEV_ACCOUNT_ROLES,
    DEV_ADDRESSES,
    DEV_PRIVATE_KEYS,
    PROVIDER_ACCOUNTS,
    REQUESTER_ACCOUNT,
    VALIDATOR_ACCOUNTS,
    dev_account_roles,
)
from crowdcompute.demo import stack


def test_the_demo_runs_its_nodes_from_the_accounts_the_table_names() -> None:
    assert (stack.REQUESTER_ACCOUNT, stack.PROVIDER_ACCOUNTS) == (REQUESTER_ACCOUNT, PROVIDER_ACCOUNTS)
    assert (stack.VALIDATOR_ACCOUNTS, stack.CHEATER_ACCOUNT) == (VALIDATOR_ACCOUNTS, CHEATER_ACCOUNT)
    used = [DEPLOYER_ACCOUNT, REQUESTER_ACCOUNT, *PROVIDER_ACCOUNTS, *VALIDATOR_ACCOUNTS, CHEATER_ACCOUNT]
    assert sorted(DEV_ACCOUNT_ROLES) == sorted(used) and len(set(used)) == len(used)


@pytest.mark.parametrize("chain_id", [31337, 1337])
def test_a_dev_chain_shows_every_account_with_its_role_and_key(chain_id: int) -> None:
    roles = dev_account_roles(chain_id)
    assert [r.index for r in roles] == list(range(10))
    assert [r.address for r in roles] == list(DEV_ADDRESSES)
    assert [r.private_key for r in roles] == list(DEV_PRIVATE_KEYS)
    assert roles[REQUESTER_ACCOUNT].role == "requester" and roles[9].role is None


@pytest.mark.parametrize("chain_id", [1, 10, 8453, 11155111])
def test_any_other_chain_shows_none(chain_id: int) -> None:
    assert dev_account_roles(chain_id) == ()


def test_every_key_the_readme_prints_is_a_dev_key_exactly() -> None:
    """A key copied from the README must work: anvil's and Hardhat's account #0 key, all 64 hex digits."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    keys = re.findall(r"(?<![0-9a-fA-Fx])0x[0-9a-fA-F]{60,}(?![0-9a-fA-F])", readme)
    assert keys, "the README shows the Hardhat node's first dev key"
    assert all(key in DEV_PRIVATE_KEYS for key in keys), keys


def test_keys_past_the_table_are_derived_from_the_dev_mnemonic_as_anvil_derives_them() -> None:
    """The table's ten keys come out of the same derivation, so account 15 is anvil's `--accounts 16` key."""
    from chain import dev_account, dev_address, dev_private_key
    from chain.dev_accounts import _derived_key

    assert [_derived_key(i) for i in range(10)] == list(DEV_PRIVATE_KEYS)
    assert [dev_address(i) for i in range(10)] == list(DEV_ADDRESSES)
    assert dev_private_key(15) == "0x8166f546bab6da521a8369cab06c5d2b9e46670292d85c875ee9ec20e84ffb61"
    assert dev_address(15) == dev_account(15).address == "0xcd3B766CCDd6AE721141F452C550Ca635964ce71"
    assert len({dev_address(i) for i in range(20)}) == 20
    with pytest.raises(ValueError, match="start at 0"):
        dev_private_key(-1)
