"""Opening the one key seal addressed to an account among a job's published seals (docs/confidential.md).

Seals are trusted by their sender: the caller names who may have sealed to it (a provider takes the content
key only from the job's requester; a validator and the requester take keys only from the job's provider).
Any object with `sender`, `recipient`, `sealed` and `block_number` will do (the chain's `SealedKey` events).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from jobs.sealing.errors import SealedKeyError
from jobs.sealing.keys import KeyPair
from jobs.sealing.seals import open_key

__all__ = ["AddressedSeal", "OpenedSeal", "open_seals"]


class AddressedSeal(Protocol):
    @property
    def sender(self) -> str: ...
    @property
    def recipient(self) -> str: ...
    @property
    def sealed(self) -> bytes: ...
    @property
    def block_number(self) -> int: ...


@dataclass(frozen=True)
class OpenedSeal:
    """What the seals addressed to this node gave: the payload of the first that opened, and why the others
    did not (a seal that does not open is the sender's fault, or a key this node lost)."""

    payload: bytes | None
    problems: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        """Whether any seal from a trusted sender was addressed to this node at all."""
        return self.payload is not None or bool(self.problems)


def open_seals(
    seals: Iterable[AddressedSeal],
    pairs: Sequence[KeyPair],
    *,
    senders: Sequence[str],
    chain_id: int,
    job_id: int,
    me: str,
    size: int | None = None,
) -> OpenedSeal:
    """Open the newest seal to `me` from one of `senders` with any of `pairs` (a node's every key pair, a
    requester's one); `size`: the payload length the protocol expects (anything else counts as a seal that
    does not open)."""
    trusted = {sender.lower() for sender in senders}
    problems: list[str] = []
    for seal in sorted(seals, key=lambda s: s.block_number, reverse=True):
        if seal.sender.lower() not in trusted or seal.recipient.lower() != me.lower():
            continue
        last = "this node holds no encryption key"
        for pair in pairs:
            try:
                payload = open_key(seal.sealed, pair, chain_id=chain_id, job_id=job_id, recipient=me)
            except SealedKeyError as exc:
                last = str(exc)
                continue
            if size is not None and len(payload) != size:
                last = f"the sealed key holds {len(payload)} bytes, not {size}"
                continue
            return OpenedSeal(payload, tuple(problems))
        problems.append(f"block {seal.block_number}: {last}")
    return OpenedSeal(None, tuple(problems))
