"""Confidential jobs on a validator seat (docs/confidential.md).

The provider seals the content key and its result key (64 bytes) to each seat holder once the committee is
drawn; a validator takes keys only from the job's provider. No seal yet: `KeysUnavailable` (a kind of
`ResultUnavailable`, so the daemon waits as it does for a result, and votes `KeyWithheld` once the provider
had its fair time). A seal that does not open, or keys that do not open the bundle or the result, are the
provider's doing: `KeyWithheld`, a rejection at once."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from chain import Job, JobId, MarketClient
from jobs.bundle import Bundle
from jobs.manifest import ManifestError, load_manifest
from jobs.sealing import NodeKeyring, SealingError, is_sealed_tree, open_job_folder, open_result_tree
from jobs.sealing.keys import KEY_BYTES
from node_base.encryption import open_seals, sealed_to
from validator.errors import ResultUnavailable, ValidatorError

__all__ = ["KeyWithheld", "KeysUnavailable", "SeatKeys", "ValidatorSealing", "is_confidential"]

log = logging.getLogger(__name__)


def is_confidential(job: Job) -> bool:
    return any(bytes(job.spec.result_key))


class KeysUnavailable(ResultUnavailable):
    """The provider has not sealed the job's keys to this seat (yet)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, missing=True)


class KeyWithheld(ValidatorError):
    """What the provider sealed to this seat does not open the job: a finding against it."""


@dataclass(frozen=True)
class SeatKeys:
    content_key: bytes = field(repr=False)
    result_key: bytes = field(repr=False)


class ValidatorSealing:
    def __init__(self, market: MarketClient, keyring: NodeKeyring) -> None:
        self.market = market
        self.keyring = keyring

    def seat_keys(self, job_id: JobId, job: Job) -> SeatKeys:
        me = self.market.me
        opened = open_seals(
            sealed_to(self.market, job_id, me),
            self.keyring.all(),
            senders=[job.state.provider],
            chain_id=self.market.rpc.chain_id,
            job_id=job_id,
            me=me,
            size=2 * KEY_BYTES,
        )
        if opened.payload is not None:
            return SeatKeys(opened.payload[:KEY_BYTES], opened.payload[KEY_BYTES:])
        if opened.problems:
            raise KeyWithheld(
                f"job {job_id}: the keys provider {job.state.provider} sealed to this seat do not open: "
                + "; ".join(opened.problems)
            )
        raise KeysUnavailable(
            f"job {job_id}: provider {job.state.provider} has not sealed the job's keys to {me}"
        )

    def open_bundle(self, bundle: Bundle, job_id: JobId, keys: SeatKeys, folder: Path) -> Bundle:
        """The bundle opened under `folder/bundle` (kept for the seat's retries)."""
        dest = folder / "bundle"
        if (dest / "job.toml").is_file() and not (dest / "sealed.payload").exists():
            return Bundle(bundle.cid, dest, load_manifest(dest))
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        for member in bundle.path.iterdir():
            try:
                os.link(member, dest / member.name)
            except OSError:
                shutil.copy2(member, dest / member.name)
        try:
            open_job_folder(dest, keys.content_key, chain_id=self.market.rpc.chain_id, job_id=job_id)
            return Bundle(bundle.cid, dest, load_manifest(dest))
        except (SealingError, ManifestError) as exc:
            shutil.rmtree(dest, ignore_errors=True)
            raise KeyWithheld(
                f"job {job_id}: the content key the provider sealed does not open the bundle: {exc}"
            ) from None

    def open_result(
        self,
        result: Path,
        job_id: JobId,
        attempt: int,
        keys: SeatKeys,
        select: Callable[[str], bool] | None = None,
    ) -> None:
        if not is_sealed_tree(result):
            return  # opened by an earlier try
        try:
            open_result_tree(
                result,
                keys.result_key,
                chain_id=self.market.rpc.chain_id,
                job_id=job_id,
                attempt=attempt,
                select=select,
            )
        except SealingError as exc:
            raise KeyWithheld(
                f"job {job_id}: the result does not open with the result key the provider sealed: {exc}"
            ) from None
