"""Signing keys: from `CROWDCOMPUTE_PRIVATE_KEY`, or from an encrypted eth-account keystore.

The keystore password comes from `CROWDCOMPUTE_KEYSTORE_PASSWORD` or a prompt. Anvil's public dev keys
(`chain.dev_accounts`) are refused on any chain but a local dev chain, before anything is signed or sent.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from chain.dev_accounts import is_dev_address, is_dev_chain
from chain.errors import DevKeyOnLiveChain, InvalidKey, MissingKey

log = logging.getLogger(__name__)

PRIVATE_KEY_ENV = "CROWDCOMPUTE_PRIVATE_KEY"
KEYSTORE_ENV = "CROWDCOMPUTE_KEYSTORE"
KEYSTORE_PASSWORD_ENV = "CROWDCOMPUTE_KEYSTORE_PASSWORD"

Prompt = Callable[[str], str]


def account_from_private_key(private_key: str) -> LocalAccount:
    """A signer from a hex private key (with or without 0x); the key itself never appears in errors."""
    text = private_key.strip()
    try:
        account: LocalAccount = Account.from_key(text if text.startswith("0x") else "0x" + text)
    except (ValueError, TypeError) as exc:
        raise InvalidKey("the private key is not 32 bytes of hex") from exc
    return account


def account_from_keystore(path: Path, password: str) -> LocalAccount:
    """Decrypt an eth-account (V3) keystore file."""
    try:
        encrypted = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise MissingKey(f"keystore {path} does not exist") from exc
    except (OSError, ValueError) as exc:
        raise InvalidKey(f"keystore {path} is not a readable JSON keystore: {exc}") from exc
    try:
        private_key = Account.decrypt(encrypted, password)
    except ValueError as exc:
        raise InvalidKey(f"cannot decrypt keystore {path}: wrong password or damaged file") from exc
    account: LocalAccount = Account.from_key(private_key)
    return account


def write_keystore(
    path: Path, account: LocalAccount, password: str, *, iterations: int | None = None
) -> Path:
    """Encrypt `account` (scrypt; `iterations` lowers its cost for tests) into a file only its owner reads."""
    encrypted = Account.encrypt(account.key, password, iterations=iterations)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(encrypted, f)
    return path


def load_account(
    *,
    keystore: Path | None = None,
    password: str | None = None,
    env: Mapping[str, str] | None = None,
    prompt: Prompt | None = getpass.getpass,
) -> LocalAccount:
    """The configured signer: an explicit keystore, else the env private key, else the env keystore path."""
    env = os.environ if env is None else env
    keystore_path = keystore or (Path(env[KEYSTORE_ENV]) if env.get(KEYSTORE_ENV) else None)
    if keystore is None and env.get(PRIVATE_KEY_ENV):
        return account_from_private_key(env[PRIVATE_KEY_ENV])
    if keystore_path is None:
        raise MissingKey(
            f"no signing key: set {PRIVATE_KEY_ENV}, or give a keystore (--keystore or {KEYSTORE_ENV})"
        )
    secret = password if password is not None else env.get(KEYSTORE_PASSWORD_ENV)
    if secret is None:
        if prompt is None:
            raise MissingKey(f"keystore {keystore_path} needs a password: set {KEYSTORE_PASSWORD_ENV}")
        secret = prompt(f"Password for {keystore_path}: ")
    return account_from_keystore(keystore_path, secret)


def ensure_key_allowed(address: str, chain_id: int) -> None:
    """Refuse anvil's public dev keys on anything but a local dev chain."""
    if is_dev_address(address) and not is_dev_chain(chain_id):
        raise DevKeyOnLiveChain(address, chain_id)


def load_signer(
    chain_id: int,
    *,
    keystore: Path | None = None,
    password: str | None = None,
    env: Mapping[str, str] | None = None,
    prompt: Prompt | None = getpass.getpass,
) -> LocalAccount:
    """`load_account`, then the dev-key check against the chain the key will sign for."""
    account = load_account(keystore=keystore, password=password, env=env, prompt=prompt)
    ensure_key_allowed(account.address, chain_id)
    log.debug("signing as %s on chain %d", account.address, chain_id)
    return account
