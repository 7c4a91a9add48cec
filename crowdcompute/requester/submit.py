"""Post a job folder: pack it, check its manifest and the spec, store or upload the bundle, post on chain.

Everything that can be checked here is checked before the bundle leaves the machine or anything is
signed: the manifest, the spec (the contract's rules), the requester's token balance against the
escrow, and whether any provider registered on the market would claim the job (`checks`: capabilities,
stake, price, and the runtime image the network runs); a job pinning runtime/image.lock's id is posted
as written unless the network runs another id (then a pinned copy, with a warning), and the old
placeholder id is pinned to a real one first, or refused. The bundle CID is computed locally and must
match what the store or gateway reports.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chain import MARKET_PAUSED_MESSAGE, JobId, JobSpec, MarketClient, Payment, PayWith, PostedJob, TxResult
from cli_support import token_amount
from crowdcompute.requester.checks import (
    LocalImageId,
    format_reasons,
    pin_placeholder,
    read_network,
    why_no_provider,
)
from crowdcompute.requester.confidential import preseal, seal_for_post
from crowdcompute.requester.errors import (
    ContentMismatch,
    InsufficientTokens,
    InvalidJob,
    MarketIsPaused,
    NoProviderCanRun,
    RequesterError,
)
from crowdcompute.requester.gateway import GatewayClient
from crowdcompute.requester.spec import job_spec_for
from jobs.bundle import BundleError, pack_directory, read_job_manifest
from jobs.cid import Cid, parse_cid
from jobs.manifest import Manifest, ManifestError
from jobs.store import ContentStore, import_stream

__all__ = ["SubmittedJob", "check_balance", "pack_job", "submit_job"]

log = logging.getLogger(__name__)

Progress = Callable[[str], None]
Confirm = Callable[[list[str]], bool]
"""Asked with the reasons no provider would run the job; True posts it anyway."""


@dataclass(frozen=True)
class SubmittedJob:
    """A posted job, once its transaction is mined."""

    job_id: JobId
    bundle_cid: Cid
    tx: TxResult  # the postJob (or postJobWithPermit) transaction
    payment: Payment
    """How the market was allowed to take the escrow (and the approve transaction, if one was sent)."""
    warnings: tuple[str, ...] = ()
    """Why no registered provider would run it, when it was posted anyway (`force` or `confirm`)."""
    pinned_to: str | None = None
    """The image id the examples' placeholder was replaced with, if it was."""
    confidential: bool = False
    """Posted sealed (docs/confidential.md): only ciphertext left the machine."""
    presealed_to: tuple[str, ...] = ()
    """Providers the content key was sealed to at post (`--seal-to`)."""

    @property
    def tx_hash(self) -> str:
        return self.tx.tx_hash

    @property
    def gas_used(self) -> int:
        """Gas of posting: the post, and the approve sent for it if one was."""
        return self.tx.gas_used + self.payment.gas_used


@dataclass(frozen=True)
class PackedJob:
    manifest: Manifest
    tar_path: Path
    size: int
    cid: Cid


def pack_job(job_dir: Path, dest: Path) -> PackedJob:
    """The job folder as its canonical tar at `dest`, with its validated manifest and CID (CIDv1)."""
    manifest = read_job_manifest_or_invalid(job_dir)
    try:
        with dest.open("wb") as out:
            size = pack_directory(job_dir, out)
    except (BundleError, ManifestError) as exc:
        raise InvalidJob(f"the folder {job_dir} cannot be packed as a bundle: {exc}") from None
    with dest.open("rb") as stream:
        cid = import_stream(stream, cid_version=1).cid
    return PackedJob(manifest, dest, size, cid)


def read_job_manifest_or_invalid(job_dir: Path) -> Manifest:
    """The folder's validated manifest, or `InvalidJob` naming its problems."""
    try:
        return read_job_manifest(job_dir)
    except ManifestError as exc:
        raise InvalidJob(
            f"{job_dir / 'job.toml'} is invalid: {exc}; fix the manifest and submit again",
            [str(problem) for problem in exc.problems],
        ) from None
    except OSError as exc:
        raise InvalidJob(f"cannot read the job folder {job_dir}: {exc}") from None


def check_balance(market: MarketClient, spec: JobSpec) -> None:
    """Raise `InsufficientTokens` unless the account holds the job's escrow (budget + protocol fee +
    committee fees)."""
    balance = market.token.balance_of(market.me)
    if balance >= spec.escrow:
        return
    raise InsufficientTokens(
        market.me,
        balance,
        spec.escrow,
        f"{market.me} holds {token_amount(balance)}; this job's escrow is {token_amount(spec.escrow)} "
        f"(budget {token_amount(spec.budget)} + protocol fee {token_amount(spec.protocol_fee)} + "
        f"{spec.committee_size} x {token_amount(spec.validator_fee)} validator fee): "
        f"get {token_amount(spec.escrow - balance)} more, or lower the budget or fee",
    )


def _local_image_id(name: str) -> str:
    from jobs.executors.docker_engine import local_image_id  # the Docker SDK, only when it is needed

    return local_image_id(name)


def submit_job(
    market: MarketClient,
    job_dir: Path,
    *,
    store: ContentStore | None = None,
    gateway_url: str | None = None,
    budget: int | None = None,
    on_progress: Progress | None = None,
    force: bool = False,
    confirm: Confirm | None = None,
    local_image_id: LocalImageId = _local_image_id,
    pay: PayWith = PayWith.AUTO,
    confidential: bool = False,
    seal_to: Sequence[str] = (),
    **spec_overrides: Any,
) -> SubmittedJob:
    """Pack `job_dir`, put its bundle in `store` or upload it to `gateway_url` (exactly one), post the job.

    `spec_overrides` are `job_spec_for`'s keywords (collateral, validator_fee, verify_blocks, run_timeout,
    reopen_on_failure). Before anything leaves the machine: an example's placeholder image id is pinned
    (`checks.pin_placeholder`, else `UnpinnedRuntime`), and when no registered provider would claim the
    job, `NoProviderCanRun` says why, unless `force` is set or `confirm(reasons)` answers True (the
    reasons are then in `SubmittedJob.warnings`). A paused market refuses the post: `MarketIsPaused`, before
    anything is packed. The market takes the escrow from the requester's allowance,
    given as `pay` says (`PayWith`; by default the standing allowance when it covers the escrow, else an
    EIP-2612 permit in the posting transaction, else an approve of exactly the escrow). Returns once the
    post is mined.

    `confidential`: the folder is sealed first (`requester.confidential`, docs/confidential.md): only its
    public manifest and ciphertext leave the machine, the spec carries the requester's result key, and
    `seal_to` providers get the content key sealed to them right after the post.
    """
    if seal_to and not confidential:
        raise RequesterError("--seal-to seals a confidential job's key: add --confidential")
    if (store is None) == (gateway_url is None):
        raise RequesterError(
            "give exactly one place for the bundle: a content store (--store-dir) or a gateway (--gateway)"
        )
    say: Progress = on_progress or (lambda _line: None)
    if market.paused():  # checked before anything is packed or uploaded; the post would be refused
        raise MarketIsPaused(f"{MARKET_PAUSED_MESSAGE} (see `crowdcompute market status`)")
    runtime_images = None
    if gateway_url is not None:
        with GatewayClient(gateway_url) as gateway:
            runtime_images = gateway.runtime_images()
    with tempfile.TemporaryDirectory(prefix="crowdcompute-submit-") as tmp:
        pin = pin_placeholder(job_dir, Path(tmp) / "job", runtime_images, local_image_id)
        if pin is not None:
            if pin.from_lock:
                log.warning("%s", pin.describe())
            say(pin.describe())
        folder = pin.folder if pin else job_dir
        sealed = None
        if confidential:
            read_job_manifest_or_invalid(folder)
            sealed = seal_for_post(folder, Path(tmp) / "sealed", market)
            folder = sealed.folder
            say(f"sealed {job_dir}: only its public manifest and ciphertext leave this machine")
        packed = pack_job(folder, Path(tmp) / "bundle.tar")
        say(f"packed {job_dir}: {packed.size} bytes, bundle {packed.cid}")
        config = market.config()
        spec = job_spec_for(
            packed.manifest,
            packed.cid,
            budget=budget,
            fee_bps=config.fee_bps,
            min_collateral_bps=config.min_collateral_bps,
            **spec_overrides,
        )
        if sealed is not None:
            spec = dataclasses.replace(spec, result_key=sealed.public_key)
        check_balance(market, spec)
        warnings = _runnable_or_agreed(market, spec, packed.manifest, runtime_images, force, confirm, say)
        if store is not None:
            stored = store.add_file(packed.tar_path, cid_version=1, pin=True)
            _same(packed.cid, stored, "the content store")
            say(f"stored bundle {stored} in {store!r}")
        else:
            assert gateway_url is not None
            with GatewayClient(gateway_url) as gateway:
                uploaded, size = gateway.upload_bundle(packed.tar_path, market.signer, market.rpc.chain_id)
            _same(packed.cid, parse_cid(uploaded), f"the gateway at {gateway_url}")
            say(f"uploaded bundle {uploaded} ({size} bytes) to {gateway_url}")
    posted = _post(market, spec, pay, say)
    say(f"mined: job {posted.job_id} in block {posted.tx.block_number} (gas {posted.tx.gas_used})")
    if sealed is not None and seal_to:
        presealed = preseal(market, posted.job_id, sealed.content_key, seal_to)
        say(
            f"content key sealed to {len(seal_to)} provider(s) "
            f"(tx {presealed.tx.tx_hash if presealed else '-'})"
        )
    return SubmittedJob(
        posted.job_id,
        packed.cid,
        posted.tx,
        posted.payment,
        warnings=tuple(warnings),
        pinned_to=pin.digest if pin else None,
        confidential=sealed is not None,
        presealed_to=tuple(seal_to),
    )


def _runnable_or_agreed(
    market: MarketClient,
    spec: JobSpec,
    manifest: Manifest,
    runtime_images: dict[str, str] | None,
    force: bool,
    confirm: Confirm | None,
    say: Progress,
) -> list[str]:
    """The reasons no registered provider would run the job, once the caller agreed to post anyway;
    `NoProviderCanRun` when it did not."""
    reasons = why_no_provider(spec, manifest, read_network(market, runtime_images))
    if not reasons:
        return []
    if force:
        say("posting anyway (--force), although " + format_reasons(reasons))
        return reasons
    if confirm is not None and confirm(reasons):
        return reasons
    raise NoProviderCanRun(
        "no provider would run this job as it stands: "
        + format_reasons(reasons)
        + ". Nothing was posted and no tokens moved; fix the job, or post it anyway with --force",
        reasons,
    )


def _same(expected: Cid, got: Cid, where: str) -> None:
    if got.to_v1() != expected:
        raise ContentMismatch(
            f"{where} stored the bundle as {got}, but its bytes hash to {expected}; "
            "it changed the bundle or speaks another CID format: use a gateway or store you trust"
        )


def _post(market: MarketClient, spec: JobSpec, pay: PayWith, say: Progress) -> PostedJob:
    method = market.payment_method(spec.escrow) if pay == PayWith.AUTO else pay
    escrow = token_amount(spec.escrow)
    if method == PayWith.PERMIT:
        say(f"signing a permit for the escrow of {escrow} and posting the job")
    elif method == PayWith.APPROVE:
        say(f"approving the market for exactly the escrow of {escrow} (no permit), then posting the job")
    else:
        say(f"posting the job; the escrow of {escrow} comes from the standing allowance")
    return market.post_job(spec, pay=method)
