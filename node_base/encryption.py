"""A node's encryption key for confidential jobs (docs/confidential.md): kept in its folder, published
on chain.

Providers and validators each hold X25519 key pairs in `<data_dir>/encryption-keys/`; the newest is current
and its public half is what `KeyRelease.encryptionKeyOf(node)` says, so requesters and providers seal keys
to it. Older pairs stay: a seal made before a rotation still opens. `open_seals` tries each seal from the
senders the protocol names with each pair this node holds."""

from __future__ import annotations

import logging
from pathlib import Path

from chain import ChainError, JobId, MarketClient, SealedKey
from jobs.sealing import KeyPair, NodeKeyring
from jobs.sealing.addressed import OpenedSeal, open_seals

__all__ = ["OpenedSeal", "ensure_published", "node_keyring", "open_seals", "rotate_key", "sealed_to"]

log = logging.getLogger(__name__)


def node_keyring(keys_dir: Path) -> NodeKeyring:
    return NodeKeyring(keys_dir)


def ensure_published(market: MarketClient, keyring: NodeKeyring) -> KeyPair:
    """The node's current key pair, created when it has none, and published on chain when the chain holds
    another public key (or none) for this account."""
    pair = keyring.current() or keyring.create()
    release = market.key_release()
    if release.encryption_key_of(market.me) != pair.public:
        release.set_encryption_key(pair.public)
        log.info("encryption key %s published for %s", pair.public.hex(), market.me)
    return pair


def rotate_key(market: MarketClient, keyring: NodeKeyring) -> KeyPair:
    """A new current key pair, published; the old ones stay to open what was sealed to them."""
    pair = keyring.rotate()
    market.key_release().set_encryption_key(pair.public)
    return pair


def sealed_to(market: MarketClient, job_id: int, me: str) -> list[SealedKey]:
    """Every seal addressed to `me` for the job (the chain's events); [] when the chain cannot say now."""
    try:
        return market.key_release().sealed_keys(JobId(job_id), recipient=me)
    except ChainError as exc:
        log.warning("job %d: could not read the sealed keys (%s)", job_id, exc)
        return []


def encryption_key_report(market: MarketClient, keys_dir: Path, *, rotate: bool) -> dict[str, object]:
    """`<role> encryption-key [--rotate]`: the node's current key (created and published when missing, or a
    new one with `rotate`) and how many older ones it keeps."""
    keyring = node_keyring(keys_dir)
    pair = rotate_key(market, keyring) if rotate else ensure_published(market, keyring)
    return {
        "address": market.me,
        "encryptionKey": "0x" + pair.public.hex(),
        "published": market.key_release().encryption_key_of(market.me) == pair.public,
        "rotated": rotate,
        "olderKeys": len(keyring.all()) - 1,
        "folder": str(keys_dir),
    }
