"""Confidential jobs on the provider (docs/confidential.md).

After the claim the node waits for the content key: the requester's key agent releases it on chain
(`KeyReleased`), or the requester sealed it to this node at post (`KeySealed`). With the key it opens the
bundle into a folder of its own (the cached bundle stays sealed) and runs the job as any other. Without one
by the end of the key window (the first quarter of the run timeout) it gives the claim back for free; with
a recorded key that does not open, it gives the claim back with its collateral burned (never paid to the
requester who sealed a bad key). The run's result is sealed under a fresh result key, kept in the state
before any file is sealed; once the committee is drawn the node seals the content and result keys to each
seat (it wants to be verified) and the result key to the requester.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chain import ChainError, ContractRevert, Job, JobId, JobStatus, MarketClient
from jobs.bundle import Bundle
from jobs.manifest import ManifestError, load_manifest
from jobs.sealing import (
    NodeKeyring,
    SealingError,
    is_sealed_folder,
    open_job_folder,
    seal_key,
    seal_result_tree,
)
from jobs.sealing.keys import KEY_BYTES
from node_base.encryption import open_seals, sealed_to
from provider_node.state import StateStore

__all__ = ["AWAITING_KEY", "KEY_BYTES", "KeyDecision", "ProviderSealing", "RunInput", "key_window_end"]

log = logging.getLogger(__name__)

KEY_WINDOW_DIVISOR = 4
"""KeyRelease records a release only in the first quarter of the run timeout after the claim."""
SETTLED = 1 << 16
"""`sealed_round` of a job that no committee verifies any more."""


def key_window_end(job: Job) -> int:
    """The chain time after which a release is no longer recorded for this claim."""
    timeout = int(job.spec.run_timeout)
    return int(job.state.deadline) - timeout + timeout // KEY_WINDOW_DIVISOR


AWAITING_KEY = "waiting for the requester to release the content key (docs/confidential.md)"


@dataclass(frozen=True)
class RunInput:
    """A confidential job's input for the run: the opened bundle, or why the claim went back (`released`);
    neither while the key is awaited."""

    bundle: Bundle | None = None
    released: str | None = None


@dataclass(frozen=True)
class KeyDecision:
    """What to do about the content key now: run with `key`, wait, or give the claim back (`release`)."""

    key: bytes | None = None
    release: str | None = None
    refused: bool = False  # the key recorded on chain does not open: the release burns the collateral

    @property
    def waiting(self) -> bool:
        return self.key is None and self.release is None


class ProviderSealing:
    """The provider's side of confidential jobs, shared by the node's job runners."""

    def __init__(
        self, market: MarketClient, keyring: NodeKeyring, state: StateStore, opened_dir: Path
    ) -> None:
        self.market = market
        self.keyring = keyring
        self.state = state
        self.opened_dir = opened_dir

    @staticmethod
    def is_sealed(bundle: Bundle) -> bool:
        return is_sealed_folder(bundle.path)

    # -- the content key -------------------------------------------------------------------------------

    def content_key(self, job_id: JobId, attempt: int, job: Job, now: int) -> KeyDecision:
        known = self.state.keys(job_id, attempt)
        if known is not None and known.content_key:
            return KeyDecision(key=known.content_key)
        me = self.market.me
        opened = open_seals(
            sealed_to(self.market, job_id, me),
            self.keyring.all(),
            senders=[job.spec.requester],
            chain_id=self.market.rpc.chain_id,
            job_id=job_id,
            me=me,
            size=KEY_BYTES,
        )
        if opened.payload is not None:
            self.state.save_keys(job_id, attempt, content_key=opened.payload)
            return KeyDecision(key=opened.payload)
        recorded = self.market.key_release().key_released(job_id, me, int(job.state.deadline))
        if recorded and opened.problems:
            return KeyDecision(
                release=(
                    "the content key the requester released does not open with this node's keys ("
                    + "; ".join(opened.problems)
                    + "): the claim goes back and its collateral is burned, not paid to the requester"
                ),
                refused=True,
            )
        if not recorded and now > key_window_end(job):
            return KeyDecision(
                release=(
                    "the requester's key agent did not release the content key within the key window "
                    f"(until chain time {key_window_end(job)}): the claim goes back, collateral unlocked"
                )
            )
        return KeyDecision()

    def prepare(self, job_id: JobId, attempt: int, cached: Bundle, job: Job, now: int) -> RunInput:
        """The opened bundle once the key is here; the claim given back when none came in the key window, or
        when the key does not open the bundle (then the requester sealed the wrong key or the bundle was made
        for another one: running is impossible, and the collateral goes to the burn, not to the requester)."""
        decision = self.content_key(job_id, attempt, job, now)
        if decision.release is not None:
            return RunInput(released=self.release_claim(job_id, decision.release))
        if decision.key is None:
            return RunInput()
        try:
            opened = self.open_bundle(cached, job_id, attempt, decision.key)
        except (SealingError, ManifestError, OSError) as exc:
            reason = f"the bundle does not open with the released key: {exc}"
            return RunInput(released=self.release_claim(job_id, reason))
        log.info("job %d: content key received, bundle opened", job_id)
        return RunInput(bundle=opened)

    def release_claim(self, job_id: JobId, reason: str) -> str:
        """Give the claim back; the note for the job's record."""
        try:
            released = self.market.release_claim(job_id)
        except ContractRevert as exc:
            return f"{reason}; but the market refused to take the claim back: {exc.message}"
        log.warning("job %d: %s (tx %s)", job_id, reason, released.tx.tx_hash)
        return reason

    # -- the bundle --------------------------------------------------------------------------------------

    def opened_folder(self, job_id: JobId, attempt: int) -> Path:
        return self.opened_dir / f"{job_id}-{attempt}"

    def open_bundle(self, bundle: Bundle, job_id: JobId, attempt: int, key: bytes) -> Bundle:
        """The bundle opened in a folder of its own (reused after a restart); raises SealingError or
        ManifestError when it cannot be opened."""
        dest = self.opened_folder(job_id, attempt)
        if (dest / "job.toml").is_file() and not is_sealed_folder(dest):
            return Bundle(bundle.cid, dest, load_manifest(dest))
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        for member in bundle.path.iterdir():
            _link_or_copy(member, dest / member.name)
        try:
            open_job_folder(dest, key, chain_id=self.market.rpc.chain_id, job_id=job_id)
            return Bundle(bundle.cid, dest, load_manifest(dest))
        except (SealingError, ManifestError, OSError):
            shutil.rmtree(dest, ignore_errors=True)
            raise

    def forget_bundle(self, job_id: JobId, attempt: int) -> None:
        shutil.rmtree(self.opened_folder(job_id, attempt), ignore_errors=True)

    # -- the result --------------------------------------------------------------------------------------

    def seal_result(self, folder: Path, job_id: JobId, attempt: int) -> None:
        """Seal every file of the result in place under the attempt's result key (drawn and saved first)."""
        keys = self.state.keys(job_id, attempt)
        result_key = keys.result_key if keys is not None and keys.result_key else None
        if result_key is None:
            result_key = secrets.token_bytes(KEY_BYTES)
            self.state.save_keys(job_id, attempt, result_key=result_key)
        seal_result_tree(
            folder, result_key, chain_id=self.market.rpc.chain_id, job_id=job_id, attempt=attempt
        )

    # -- the committee -----------------------------------------------------------------------------------

    def reseal(self, job_id: JobId, attempt: int) -> bool:
        """Seal the keys to the current round's seats and the result key to the requester, once per round;
        True when done (or nothing to do), False to try again later."""
        keys = self.state.keys(job_id, attempt)
        if keys is None or not keys.content_key or not keys.result_key:
            return True
        try:
            view = self.market.job(job_id)
            job = view.job
            if view.status != JobStatus.SUBMITTED or job.state.provider != self.market.me:
                self.state.save_keys(job_id, attempt, sealed_round=SETTLED)  # settled: nobody verifies it now
                return True
            if int(job.state.round) <= keys.sealed_round:
                return True
            seats = self.market.committee_of(job_id)
        except ChainError as exc:
            log.debug("job %d: the committee is not known yet (%s)", job_id, exc)
            return False
        chain_id = self.market.rpc.chain_id
        release = self.market.key_release()
        entries: list[tuple[str, bytes]] = []
        if keys.sealed_round < 0:
            requester = job.spec.requester
            entries.append(
                (
                    requester,
                    seal_key(
                        keys.result_key,
                        bytes(job.spec.result_key),
                        chain_id=chain_id,
                        job_id=job_id,
                        recipient=requester,
                    ),
                )
            )
        for seat in dict.fromkeys(seats):
            public = release.encryption_key_of(seat)
            if public is None:
                log.warning(
                    "job %d: validator %s published no encryption key: it cannot open the job", job_id, seat
                )
                continue
            payload = keys.content_key + keys.result_key
            entries.append(
                (seat, seal_key(payload, public, chain_id=chain_id, job_id=job_id, recipient=seat))
            )
        try:
            published = release.publish_keys(job_id, entries)
        except ChainError as exc:
            log.warning("job %d: sealing the keys to the committee failed (%s); trying again", job_id, exc)
            return False
        self.state.save_keys(job_id, attempt, sealed_round=int(job.state.round))
        log.info(
            "job %d: keys sealed to %d seat holders of round %d (tx %s)",
            job_id,
            len(entries) - (1 if keys.sealed_round < 0 else 0),
            job.state.round,
            published.tx.tx_hash,
        )
        return True

    def reseal_pending(self, submitted: Callable[[], list[tuple[JobId, int]]]) -> None:
        for job_id, attempt in submitted():
            self.reseal(job_id, attempt)


def _link_or_copy(src: Path, dst: Path) -> None:
    """A hard link where the file system allows one (the sealed payload can be large), else a copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
