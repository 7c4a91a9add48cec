"""Bundle uploads: stream to disk, repack canonically, validate the manifest, then add and pin.

Order matters: nothing reaches the content store until the archive has been repacked (hostile archives
refused) and its manifest validated, so a refused upload leaves nothing behind. If adding, pinning or
recording fails, the new pin is removed and unpinned blocks are collected.
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

from api.errors import HostileBundleError, InvalidRequestError, ManifestInvalidError, NotFoundError
from api.gateway import Gateway
from api.models.bundles import BundlePublic, ManifestPublic
from api.models.common import FieldProblem
from api.services.auth import Caller
from api.services.bundle_limits import gateway_bundle_limits, limit_refusal
from api.services.content import parse_cid_param, store_errors
from api.services.multipart import receive_file
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


def store_bundle(gateway: Gateway, upload: Path, workdir: Path, caller: Caller) -> BundlePublic:
    """Repack, validate, add and pin (blocking: runs in a worker thread)."""
    canonical, manifest = _repack(upload, workdir, gateway_bundle_limits(gateway.settings))
    manifest_json = manifest.model_dump(mode="json")
    store = gateway.store
    with store_errors():
        planned = store.add_file(canonical, only_hash=True)
        pinned_before = planned in set(store.pins())
        try:
            cid = store.add_file(canonical, pin=True)
            with gateway.db.write() as conn:
                conn.execute(
                    "INSERT OR REPLACE INTO bundles (cid, size, manifest, uploaded_by, uploaded_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (
                        str(cid),
                        canonical.stat().st_size,
                        json.dumps(manifest_json),
                        caller.address,
                        time.time(),
                    ),
                )
        except BaseException:
            if not pinned_before:
                _discard(store, planned)
            raise
    log.info("bundle %s uploaded", cid, extra={"cid": str(cid), "by": caller.address or caller.rate_key})
    return BundlePublic(cid=str(cid), size=canonical.stat().st_size, manifest=manifest_json)


async def create_bundle(gateway: Gateway, request: Request, caller: Caller) -> BundlePublic:
    settings = gateway.settings
    if settings.upload_tmp_dir is not None:
        settings.upload_tmp_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="upload-", dir=settings.upload_tmp_dir))
    try:
        received = await receive_file(
            request.headers.get("content-type"),
            request.headers.get("content-length"),
            request.stream(),
            workdir / "upload",
            settings.upload_max_bytes,
        )
        return await run_in_threadpool(store_bundle, gateway, received.path, workdir, caller)
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
