"""Signing keys: env or keystore, never a dev key on a live chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account

from chain import (
    DEV_ADDRESSES,
    DEV_PRIVATE_KEYS,
    KEYSTORE_ENV,
    KEYSTORE_PASSWORD_ENV,
    PRIVATE_KEY_ENV,
    ChainError,
    DevKeyOnLiveChain,
    InvalidKey,
    MissingKey,
    dev_account,
    ensure_key_allowed,
    is_dev_address,
    load_account,
    load_signer,
    write_keystore,
)


def no_prompt(_: str) -> str:
    raise AssertionError("prompted although a password was configured")


def test_dev_accounts_are_anvils_defaults() -> None:
    assert len(DEV_PRIVATE_KEYS) == 10
    assert DEV_ADDRESSES[0] == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert dev_account(9).address == DEV_ADDRESSES[9]
    assert is_dev_address(DEV_ADDRESSES[3].lower())


def test_private_key_from_env() -> None:
    fresh = Account.create()
    account = load_account(env={PRIVATE_KEY_ENV: fresh.key.hex()}, prompt=no_prompt)
    assert account.address == fresh.address


def test_missing_key_names_the_options() -> None:
    with pytest.raises(MissingKey, match=PRIVATE_KEY_ENV) as info:
        load_account(env={}, prompt=no_prompt)
    assert isinstance(info.value, ChainError) and isinstance(info.value, LookupError)


def test_malformed_private_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(InvalidKey) as info:
        load_account(env={PRIVATE_KEY_ENV: "0x1234deadbeef"}, prompt=no_prompt)
    assert "deadbeef" not in str(info.value)


def test_keystore_with_password_from_env(tmp_path: Path) -> None:
    fresh = Account.create()
    path = write_keystore(tmp_path / "key.json", fresh, "hunter2", iterations=2**10)
    assert path.stat().st_mode & 0o077 == 0
    env = {KEYSTORE_ENV: str(path), KEYSTORE_PASSWORD_ENV: "hunter2"}
    assert load_account(env=env, prompt=no_prompt).address == fresh.address


def test_keystore_password_prompt(tmp_path: Path) -> None:
    fresh = Account.create()
    path = write_keystore(tmp_path / "key.json", fresh, "s3cret", iterations=2**10)
    prompts: list[str] = []

    def prompt(text: str) -> str:
        prompts.append(text)
        return "s3cret"

    assert load_account(keystore=path, env={}, prompt=prompt).address == fresh.address
    assert prompts and str(path) in prompts[0]


def test_keystore_wrong_password(tmp_path: Path) -> None:
    path = write_keystore(tmp_path / "key.json", Account.create(), "right", iterations=2**10)
    with pytest.raises(InvalidKey, match="wrong password"):
        load_account(keystore=path, password="wrong", env={})


def test_keystore_without_password_and_no_prompt(tmp_path: Path) -> None:
    path = write_keystore(tmp_path / "key.json", Account.create(), "pw", iterations=2**10)
    with pytest.raises(MissingKey, match=KEYSTORE_PASSWORD_ENV):
        load_account(keystore=path, env={}, prompt=None)


@pytest.mark.parametrize("chain_id", [1, 10, 8453, 11155111])
def test_dev_key_refused_on_live_chains(chain_id: int) -> None:
    env = {PRIVATE_KEY_ENV: DEV_PRIVATE_KEYS[0]}
    with pytest.raises(DevKeyOnLiveChain, match=str(chain_id)) as info:
        load_signer(chain_id, env=env, prompt=no_prompt)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("chain_id", [31337, 1337])
def test_dev_key_allowed_on_dev_chains(chain_id: int) -> None:
    env = {PRIVATE_KEY_ENV: DEV_PRIVATE_KEYS[1]}
    assert load_signer(chain_id, env=env, prompt=no_prompt).address == DEV_ADDRESSES[1]


def test_other_keys_allowed_anywhere() -> None:
    ensure_key_allowed(Account.create().address, 1)
