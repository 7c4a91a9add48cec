"""Confidential jobs for the requester (docs/confidential.md): sealing the job folder before it leaves
the machine, pre-sealing its content key to chosen providers, the key agent that releases it to whoever
claims, and the result key that opens a download.

Every key is derived from the requester's wallet signature (`jobs.sealing.RequesterKeys`): the content key
of a bundle from the `key_salt` in its public manifest, so an agent started on another machine, or after a
crash, releases the right key with nothing saved.
"""

from __future__ import annotations

import logging
import tarfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from chain import ChainError, ContractRevert, EventReader, Job, JobId, JobStatus, KeyReleaseTx, MarketClient
from crowdcompute.requester.errors import RequesterError
from jobs.cid import Cid
from jobs.manifest import load_manifest
from jobs.sealing import RequesterKeys, SealingError, open_result_tree, seal_job_folder, seal_key
from jobs.sealing.addressed import open_seals
from jobs.sealing.keys import KEY_BYTES
from jobs.store import ContentStore, StoreError

__all__ = [
    "KeyAgent",
    "SaltSource",
    "is_confidential",
    "open_result",
    "preseal",
    "requester_keys",
    "seal_for_post",
]

log = logging.getLogger(__name__)


def is_confidential(job: Job) -> bool:
    return any(bytes(job.spec.result_key))


def requester_keys(market: MarketClient) -> RequesterKeys:
    """The requester's keys, derived from its account's signature of the key message."""
    return RequesterKeys.from_account(market.signer, market.rpc.chain_id)


@dataclass(frozen=True)
class SealedFolder:
    folder: Path
    key_salt: bytes = field(repr=False)
    content_key: bytes = field(repr=False)
    public_key: bytes


def seal_for_post(job_dir: Path, dest: Path, market: MarketClient) -> SealedFolder:
    """The job folder as the two-member folder of a confidential bundle, in `dest`."""
    keys = requester_keys(market)
    info = seal_job_folder(job_dir, dest, keys, chain_id=market.rpc.chain_id, requester=market.me)
    return SealedFolder(dest, info.key_salt, keys.content_key(info.key_salt), keys.public)


def preseal(
    market: MarketClient, job_id: JobId, content_key: bytes, providers: Sequence[str]
) -> KeyReleaseTx | None:
    """Seal the content key to each of `providers` at post (for a requester who goes offline); refused,
    naming the provider, when one has published no encryption key."""
    if not providers:
        return None
    release = market.key_release()
    entries: list[tuple[str, bytes]] = []
    for provider in providers:
        public = release.encryption_key_of(provider)
        if public is None:
            raise RequesterError(
                f"provider {provider} has published no encryption key, so job {job_id}'s key cannot be "
                "sealed to it; leave it out of --seal-to (its node publishes one when it starts)"
            )
        sealed = seal_key(
            content_key, public, chain_id=market.rpc.chain_id, job_id=job_id, recipient=provider
        )
        entries.append((provider, sealed))
    return release.publish_keys(job_id, entries)


def open_result(market: MarketClient, job_id: JobId, job: Job, attempt: int, folder: Path) -> None:
    """Open a downloaded confidential result in place with the result key its provider sealed to the
    requester; raises RequesterError (naming the job and the reason) and leaves no opened file on failure."""
    keys = requester_keys(market)
    opened = open_seals(
        market.key_release().sealed_keys(job_id, recipient=market.me),
        [keys.pair],
        senders=[job.state.provider],
        chain_id=market.rpc.chain_id,
        job_id=job_id,
        me=market.me,
        size=KEY_BYTES,
    )
    if opened.payload is None:
        why = (
            "; ".join(opened.problems)
            or f"provider {job.state.provider} has not sealed it to {market.me} yet"
        )
        raise RequesterError(f"job {job_id}: the result key cannot be had: {why}")
    try:
        open_result_tree(folder, opened.payload, chain_id=market.rpc.chain_id, job_id=job_id, attempt=attempt)
    except SealingError as exc:
        raise RequesterError(f"job {job_id}: the result does not open: {exc}") from None


SaltSource = Callable[[Cid], bytes]
"""The key salt in a confidential bundle's public manifest."""


def salt_from_store(store: ContentStore) -> SaltSource:
    def salt(cid: Cid) -> bytes:
        with store.open(cid) as stream, tarfile.open(fileobj=stream, mode="r|") as archive:
            for member in archive:  # job.toml comes first: the rest of the bundle is never read
                if member.name.lstrip("./") == "job.toml" and member.isfile():
                    handle = archive.extractfile(member)
                    if handle is not None:
                        return _salt_of(cid, load_manifest(handle.read(1 << 20)).sealed)
        raise RequesterError(f"bundle {cid} has no job.toml")

    return salt


def salt_from_gateway(url: str) -> SaltSource:
    def salt(cid: Cid) -> bytes:
        response = httpx.get(f"{url.rstrip('/')}/bundles/{cid}/manifest", timeout=30.0)
        response.raise_for_status()
        sealed = response.json()["manifest"].get("sealed")
        if not sealed:
            raise RequesterError(f"bundle {cid} is not sealed: it has no [sealed] table")
        return bytes.fromhex(sealed["key_salt"])

    return salt


def _salt_of(cid: Cid, sealed: object) -> bytes:
    if sealed is None:
        raise RequesterError(f"bundle {cid} is not sealed: it has no [sealed] table")
    return bytes.fromhex(str(sealed.key_salt))  # type: ignore[attr-defined]


@dataclass
class Released:
    job_id: JobId
    provider: str
    block: int | None = None
    reason: str = ""


class KeyAgent:
    """Releases the content key of this requester's confidential jobs to each provider whose claim is mined
    (`crowdcompute job keys serve`). Reads the market's events from `start_block`; a claim seen after its key
    window is skipped (the provider gives it back for free)."""

    def __init__(
        self,
        market: MarketClient,
        salt_of: SaltSource,
        *,
        start_block: int = 0,
        on_release: Callable[[Released], None] | None = None,
    ) -> None:
        self.market = market
        self.salt_of = salt_of
        self.keys = requester_keys(market)
        self.on_release = on_release or (lambda _r: None)
        self.reader = EventReader(
            market.rpc,
            market.address,
            market.codec,
            ["JobClaimed"],
            start_block=start_block,
            batch_blocks=500,
        )
        self._salts: dict[Cid, bytes] = {}

    def step(self) -> list[Released]:
        done: list[Released] = []
        for event in self.reader.poll().events:
            job_id = JobId(int(event.args["jobId"]))
            released = self.release(job_id, str(event.args["provider"]))
            if released is not None:
                done.append(released)
                self.on_release(released)
        return done

    def release(self, job_id: JobId, provider: str) -> Released | None:
        """Seal the job's content key to its claimant and release it; None when the job is not this
        requester's confidential job or the claim moved on."""
        try:
            view = self.market.job(job_id)
        except ChainError as exc:
            log.warning("job %d: cannot read it (%s)", job_id, exc)
            return None
        job = view.job
        if job.spec.requester != self.market.me or not is_confidential(job):
            return None
        if view.status != JobStatus.CLAIMED or job.state.provider.lower() != provider.lower():
            return None
        public = self.market.key_release().encryption_key_of(provider)
        if public is None:
            return Released(
                job_id, provider, reason="the provider published no encryption key: it gives the claim back"
            )
        cid = Cid.from_chain(bytes(job.spec.bundle_digest), int(job.spec.bundle_codec))
        try:
            salt = self._salts.get(cid) or self.salt_of(cid)
        except (StoreError, httpx.HTTPError, RequesterError, OSError) as exc:
            return Released(job_id, provider, reason=f"the bundle's key salt cannot be read: {exc}")
        self._salts[cid] = salt
        sealed = seal_key(
            self.keys.content_key(salt),
            public,
            chain_id=self.market.rpc.chain_id,
            job_id=job_id,
            recipient=provider,
        )
        try:
            tx = self.market.key_release().release_key(job_id, sealed)
        except ContractRevert as exc:
            return Released(job_id, provider, reason=f"the release was refused: {exc.message}")
        log.info("job %d: content key released to %s (block %s)", job_id, provider, tx.tx.block_number)
        return Released(job_id, provider, block=tx.tx.block_number)

    def serve(self, stop: threading.Event, interval_s: float = 0.5) -> None:
        while not stop.is_set():
            try:
                self.step()
            except ChainError as exc:
                log.warning("the chain did not answer (%s); trying again", exc)
            stop.wait(interval_s)
