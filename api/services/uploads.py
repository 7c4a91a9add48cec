"""Bundle uploads: admit the uploader, stream to disk, repack canonically, validate the manifest, then add
and pin.

Order matters: the uploader is admitted (`api.services.quotas`: an API key, or an address with something
at stake, with room in its quota) before a byte of the body is read; a signed upload's bytes must hash to
the signed `bodyHash`; nothing reaches the content store until the archive has been repacked (hostile
archives refused) and its manifest validated, so a refused upload leaves nothing behind. If adding,
pinning or recording fails, the new pin is removed and unpinned blocks are collected. The first uploader
of some content keeps it: a later upload of the same bundle succeeds but is not charged or recorded.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from api.errors import (
    BodyHashMismatchError,
    HostileBundleError,
    InvalidRequestError,
    ManifestInvalidError,
    NotFoundError,
    UploadTooLargeError,
)
from api.gateway import Gateway
from api.models.bundles import BundlePublic, ManifestPublic
from api.models.common import FieldProblem
from api.services.auth import Caller
from api.services.bundle_limits import gateway_bundle_limits, limit_refusal
from api.services.content import parse_cid_param, store_errors
from api.services.multipart import receive_file
from api.services.quotas import UploadAdmission, admit_upload, identity_of
from jobs.bundle import ArchiveLimitExceeded, BundleError, BundleLimits, repack_upload
from jobs.manifest import (
    MANIFEST_FILENAME,
    MAX_MANIFEST_BYTES,
    MISSING,
    Manifest,
    ManifestError,
    load_manifest,
)
from jobs.store import Cid, ContentStore, NotPinned

log = logging.getLogger(__name__)


def _manifest_error(exc: ManifestError) -> ManifestInvalidError:
    problems = [
        FieldProblem(field=p.field, message=p.message, value=None if p.value is MISSING else repr(p.value))
        for p in exc.problems
    ]
    return ManifestInvalidError(f"invalid manifest: {exc}", problems)


def _manifest_bytes(tar_stream: Any) -> bytes:
    """`job.toml` from a canonical bundle (a plain ustar archive written by `jobs.bundle`)."""
    with tarfile.open(fileobj=tar_stream, mode="r|") as archive:
        for member in archive:
            if member.name == MANIFEST_FILENAME and member.isfile():
                handle = archive.extractfile(member)
                if handle is None:
                    break
                return handle.read(MAX_MANIFEST_BYTES + 1)
    raise ManifestError.single(MANIFEST_FILENAME, MISSING, "missing; the bundle has no job.toml at its root")


def read_bundle_manifest(tar_stream: Any) -> Manifest:
    try:
        return load_manifest(_manifest_bytes(tar_stream))
    except ManifestError as exc:
        raise _manifest_error(exc) from exc
    except tarfile.TarError as exc:
        raise InvalidRequestError(f"the content is not a bundle (tar): {exc}") from exc


def _repack(upload: Path, workdir: Path, limits: BundleLimits) -> tuple[Path, Manifest]:
    canonical = workdir / "bundle.tar"
    try:
        with upload.open("rb") as source, canonical.open("wb") as out:
            repack_upload(source, out, limits, work_dir=workdir)
    except ManifestError as exc:
        raise _manifest_error(exc) from exc
    except ArchiveLimitExceeded as exc:
        raise limit_refusal(exc) from exc
    except BundleError as exc:
        raise HostileBundleError(f"bundle refused: {exc}") from exc
    with canonical.open("rb") as stream:
        return canonical, read_bundle_manifest(stream)


def _discard(store: ContentStore, cid: Cid) -> None:
    """Undo a partial add: drop the pin (if this upload made it) and collect the unpinned blocks."""
    with contextlib.suppress(NotPinned):
        store.unpin(cid)
    store.gc()


def check_body_hash(caller: Caller, received: str, what: str) -> None:
    """Refuse (401) a signed upload whose bytes are not the ones signed for."""
    if caller.body_hash is not None and caller.body_hash != received:
        raise BodyHashMismatchError(
            f"body hash mismatch: the request was signed for {what} with SHA-256 {caller.body_hash}, "
            f"but the bytes received hash to {received}; nothing was stored (sign the exact bytes you send)"
        )


def store_bundle(
    gateway: Gateway, upload: Path, workdir: Path, caller: Caller, admission: UploadAdmission | None = None
) -> BundlePublic:
    """Repack, validate, add and pin (blocking: runs in a worker thread)."""
    canonical, manifest = _repack(upload, workdir, gateway_bundle_limits(gateway.settings))
    manifest_json = manifest.model_dump(mode="json")
    size = canonical.stat().st_size
    store = gateway.store
    with store_errors():
        planned = store.add_file(canonical, only_hash=True)
        pinned_before = planned in set(store.pins())
        if admission is not None and not pinned_before:
            admission.check(size)  # the canonical tar is what is stored, and it may be larger than the upload
        try:
            with gateway.bundle_pins_lock:
                cid = _pin_and_record(gateway, canonical, caller, admission, size, manifest_json)
        except BaseException:
            if not pinned_before:
                _discard(store, planned)
            raise
    log.info("bundle %s uploaded", cid, extra={"cid": str(cid), "by": caller.address or caller.rate_key})
    return BundlePublic(cid=str(cid), size=size, manifest=manifest_json)


def _pin_and_record(
    gateway: Gateway,
    canonical: Path,
    caller: Caller,
    admission: UploadAdmission | None,
    size: int,
    manifest_json: dict[str, Any],
) -> Cid:
    cid = gateway.store.add_file(canonical, pin=True)
    with gateway.db.write() as conn:
        # The first uploader keeps the row: a later upload of the same content is not re-recorded.
        conn.execute(
            "INSERT INTO bundles (cid, size, manifest, uploaded_by, uploaded_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (cid) DO NOTHING",
            (
                str(cid),
                size,
                json.dumps(manifest_json),
                admission.identity if admission is not None else caller.address,
                time.time(),
            ),
        )
    return cid


def _admit(gateway: Gateway, caller: Caller, declared: str | None) -> UploadAdmission:
    return admit_upload(
        gateway.settings, gateway.db.connection(), gateway.upload_stake, caller, _byte_count(declared)
    )


def _byte_count(declared: str | None) -> int | None:
    """A `Content-Length` as an int; None when absent or not a plain count (the parser then refuses it).
    Leading zeros never make a huge int, and a count past 18 digits is huge anyway (the edge refuses it)."""
    if declared is None or not declared.isascii() or not declared.isdigit():
        return None
    significant = declared.lstrip("0")
    return int(significant or "0") if len(significant) <= 18 else None


async def create_bundle(gateway: Gateway, request: Request, caller: Caller) -> BundlePublic:
    async with gateway.upload_slots.hold(identity_of(caller)):
        return await _create_bundle(gateway, request, caller)


async def _create_bundle(gateway: Gateway, request: Request, caller: Caller) -> BundlePublic:
    settings = gateway.settings
    declared = request.headers.get("content-length")
    admission = await run_in_threadpool(_admit, gateway, caller, declared)
    if settings.upload_tmp_dir is not None:
        settings.upload_tmp_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="upload-", dir=settings.upload_tmp_dir))
    try:
        limit = min(settings.upload_max_bytes, admission.room)
        try:
            received = await receive_file(
                request.headers.get("content-type"), declared, request.stream(), workdir / "upload", limit
            )
        except UploadTooLargeError:
            if limit < settings.upload_max_bytes:
                raise admission.refuse(limit + 1, at_least=True) from None
            raise
        check_body_hash(caller, received.sha256, "POST /bundles")
        return await run_in_threadpool(store_bundle, gateway, received.path, workdir, caller, admission)
    finally:
        await run_in_threadpool(shutil.rmtree, workdir, True)


def read_manifest(gateway: Gateway, cid_text: str) -> ManifestPublic:
    """A bundle's manifest: recorded at upload, else read from the (verified) bundle in the store."""
    cid = parse_cid_param(cid_text).to_v1()
    row = (
        gateway.db.connection().execute("SELECT manifest FROM bundles WHERE cid = ?", (str(cid),)).fetchone()
    )
    if row is not None:
        return ManifestPublic(cid=str(cid), manifest=json.loads(row["manifest"]))
    store = gateway.store
    with store_errors():
        if not store.has(cid):
            raise NotFoundError(f"bundle {cid} is not in the store")
        with store.open(cid) as stream:
            manifest = read_bundle_manifest(stream)
    return ManifestPublic(cid=str(cid), manifest=manifest.model_dump(mode="json"))
