"""The KeyRelease contract the market deployed: published X25519 keys and confidential jobs' sealed keys.

Seals are opaque bytes here (`enc | ciphertext`, docs/confidential.md "Key seals"); `jobs.sealing` makes and
opens them. Readers trust a seal by its sender: `SealedKey.sender` says who published each one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils import to_checksum_address

from chain.abi import ContractCodec, DecodedLog
from chain.clients.base import ContractClient
from chain.events import EventReader
from chain.rpc import Rpc
from chain.sender import TxSender
from chain.types import ZERO_ADDRESS, ZERO_BYTES32, Job, JobId, TxResult

MAX_SEALED_KEY_BYTES = 256
"""Longest seal the contract takes (`KeyRelease.MAX_SEALED_KEY_BYTES`)."""


@dataclass(frozen=True)
class SealedKey:
    """A seal published on chain: by `releaseKey` (sender = the job's requester, recipient = the claimant;
    `recorded` says whether it came inside the key window) or by `publishKeys` (`recorded` is None)."""

    job_id: JobId
    sender: ChecksumAddress
    recipient: ChecksumAddress
    sealed: bytes
    block_number: int
    recorded: bool | None
    tx_hash: str = ""  # the transaction that published it


@dataclass(frozen=True)
class KeyReleaseTx:
    """A mined KeyRelease transaction and its decoded events."""

    tx: TxResult
    events: tuple[DecodedLog, ...]


class KeyReleaseClient(ContractClient):
    """Typed access to the market's KeyRelease, acting as the market client's account.

    `load_job` returns the job as the market's store rebuilt it (the calldata `releaseKey` checks against the
    market's word).
    """

    def __init__(
        self,
        rpc: Rpc,
        address: str,
        codec: ContractCodec,
        *,
        load_job: Callable[[JobId], Job],
        start_block: int = 0,
        sender: TxSender | None = None,
        account: LocalAccount | None = None,
    ) -> None:
        super().__init__(rpc, address, codec, sender=sender, account=account)
        self._load_job = load_job
        self.start_block = start_block

    # ----- encryption keys ------------------------------------------------------------------------------

    def encryption_key_of(self, address: str) -> bytes | None:
        """The X25519 public key `address` published, or None."""
        key = bytes(self.call("encryptionKeyOf", to_checksum_address(address)))
        return None if key == ZERO_BYTES32 else key

    def set_encryption_key(self, public: bytes) -> KeyReleaseTx:
        """Publish this account's X25519 public key (32 bytes, not all zero)."""
        if len(public) != 32 or not any(public):
            raise ValueError(
                f"an X25519 public key is 32 bytes and not all zero; got {len(public)} bytes: "
                "pass the public half of the node's key pair"
            )
        return self._send("setEncryptionKey", public)

    # ----- seals ----------------------------------------------------------------------------------------

    def release_key(self, job_id: JobId, sealed: bytes) -> KeyReleaseTx:
        """As the requester of a claimed confidential job, release the content key sealed to the claimant.
        Recorded for `releaseClaim` only inside the key window (the first quarter of the run timeout)."""
        _check_seal(sealed)
        job = self._load_job(job_id)
        return self._send("releaseKey", job_id, job.to_abi(), sealed)

    def publish_keys(self, job_id: JobId, entries: Sequence[tuple[str, bytes]]) -> KeyReleaseTx:
        """Publish seals, one per `(recipient, sealed)` entry (pre-seals, committee seals, result keys)."""
        for _, sealed in entries:
            _check_seal(sealed)
        recipients = [to_checksum_address(recipient) for recipient, _ in entries]
        return self._send("publishKeys", job_id, recipients, [sealed for _, sealed in entries])

    def key_released(self, job_id: JobId, provider: str, deadline: int) -> bool:
        """Whether the requester released a key inside the key window of the claim `(provider, deadline)`."""
        return bool(self.call("keyReleased", job_id, to_checksum_address(provider), deadline))

    def sealed_keys(
        self, job_id: JobId, *, recipient: str | None = None, from_block: int = 0
    ) -> list[SealedKey]:
        """Every seal published for the job (both `KeyReleased` and `KeySealed`), oldest first; only those
        sealed to `recipient` when given. Check `sender` before trusting one."""
        reader = EventReader(
            self.rpc,
            self.address,
            self.codec,
            ["KeyReleased", "KeySealed"],
            start_block=max(from_block, self.start_block),
            topic_filters=["0x" + int(job_id).to_bytes(32, "big").hex()],
        )
        events = reader.catch_up()
        # Only the job's requester can release a key (the contract checks it): every KeyReleased is its.
        requester = ZERO_ADDRESS
        if any(e.name == "KeyReleased" for e in events):
            requester = to_checksum_address(self._load_job(job_id).spec.requester)
        wanted = to_checksum_address(recipient) if recipient is not None else None
        seals = []
        for event in events:
            seal = _seal_of(job_id, event, requester)
            if wanted is None or seal.recipient == wanted:
                seals.append(seal)
        return seals

    def _send(self, function: str, *args: object) -> KeyReleaseTx:
        tx, events = self.transact(function, *args)
        return KeyReleaseTx(tx, tuple(events))


def _seal_of(job_id: JobId, event: DecodedLog, requester: ChecksumAddress) -> SealedKey:
    args = event.args
    if event.name == "KeyReleased":
        return SealedKey(
            JobId(job_id),
            requester,
            to_checksum_address(args["provider"]),
            bytes(args["sealedKey"]),
            event.block_number,
            bool(args["recorded"]),
            event.tx_hash,
        )
    return SealedKey(
        JobId(job_id),
        to_checksum_address(args["sender"]),
        to_checksum_address(args["recipient"]),
        bytes(args["sealedKey"]),
        event.block_number,
        None,
        event.tx_hash,
    )


def _check_seal(sealed: bytes) -> None:
    if not 1 <= len(sealed) <= MAX_SEALED_KEY_BYTES:
        raise ValueError(
            f"a sealed key is 1..{MAX_SEALED_KEY_BYTES} bytes; got {len(sealed)}: "
            "pass the HPKE `enc | ciphertext` of one key"
        )


__all__ = ["MAX_SEALED_KEY_BYTES", "KeyReleaseClient", "KeyReleaseTx", "SealedKey"]
