"""Result uploads: a job's provider publishes its packed result here, so that validators and the requester
find it by CID (`GET /ipfs/{cid}`) without knowing where the provider pinned it.

Only the job's provider, as this gateway's index knows it, may upload (a signed `Request` for
`POST /jobs/{id}/results/{cid}`, or an API key bound to that address); that is checked before a byte of the
body is read (a signed upload's bytes must then hash to its `bodyHash`). The body is capped by the job
manifest's `outputs.max_size_mib` (plus the archive's framing; by `upload_max_bytes` when the gateway does
not hold the job's bundle) and must be the content of the CID in the path: anything else is refused and
nothing is stored.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from pathlib import Path

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from api.errors import ForbiddenError, InvalidRequestError, NotFoundError, UploadTooLargeError
from api.gateway import Gateway
from api.models.results import ResultPublic
from api.services.auth import Caller, ensure_address
from api.services.content import parse_cid_param, store_errors
from api.services.queries import get_job_state
from api.services.uploads import check_body_hash, read_manifest
from chain import JobId
from jobs.store import Cid, verified_version

log = logging.getLogger(__name__)

MIB = 1024 * 1024


def result_limit(max_size_mib: int) -> int:
    """The most bytes a packed result may have: the output cap, plus room for the tar's headers and padding
    (a few hundred bytes per file; an eighth of the cap, at least 1 MiB)."""
    content = max_size_mib * MIB
    return content + max(MIB, content // 8)


def check_uploader(gateway: Gateway, job_id: JobId, caller: Caller) -> int:
    """Refuse anyone but the job's provider; the byte limit of its result (reads the index and manifest)."""
    conn = gateway.db.connection()
    state, provider = get_job_state(conn, job_id)
    if provider is None:
        raise ForbiddenError(
            f"job {job_id} is {state} in this gateway's index, with no provider: only the provider that "
            "claimed it may upload its result (if the claim was just mined, try again in a moment)"
        )
    ensure_address(caller, provider, f"job {job_id}'s result")
    row = conn.execute("SELECT bundle_cid FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
    bundle = row["bundle_cid"] if row is not None else None
    try:
        manifest = read_manifest(gateway, bundle) if bundle else None
    except NotFoundError:
        manifest = None
    if manifest is None:
        # The bundle went elsewhere (a Kubo node, a requester's own store): no manifest to read the cap
        # from, so the gateway's own cap on uploads applies, as it does to bundles.
        log.info("job %d's bundle %s is not here: its result is capped by upload_max_bytes", job_id, bundle)
        return gateway.settings.upload_max_bytes
    return result_limit(int(manifest.manifest["outputs"]["max_size_mib"]))


def store_result(gateway: Gateway, path: Path, cid: Cid, job_id: JobId, caller: Caller) -> ResultPublic:
    """Verify the received bytes against `cid`, then add and pin them (blocking: runs in a worker thread)."""
    with path.open("rb") as stream:
        version = verified_version(stream, cid)
    if version is None:
        with path.open("rb") as stream:
            got = gateway.store.add_file(stream, only_hash=True)
        raise InvalidRequestError(
            f"the uploaded bytes are not the content of {cid} (they hash to {got}); "
            f"upload the packed result whose CID you submit for job {job_id}"
        )
    with store_errors():
        added = gateway.store.add_file(path, cid_version=version, pin=True)
    size = path.stat().st_size
    log.info(
        "result %s of job %d published (%d bytes)",
        added,
        job_id,
        size,
        extra={"cid": str(added), "by": caller.address, "job_id": job_id},
    )
    return ResultPublic(job_id=job_id, cid=str(cid), size=size)


async def create_result(
    gateway: Gateway, request: Request, caller: Caller, job_id: JobId, cid_text: str
) -> ResultPublic:
    cid = parse_cid_param(cid_text)
    limit = await run_in_threadpool(check_uploader, gateway, job_id, caller)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise UploadTooLargeError(
            f"the result ({declared} bytes) is larger than job {job_id} allows ({limit} bytes, from its "
            "outputs.max_size_mib)"
        )
    settings = gateway.settings
    if settings.upload_tmp_dir is not None:
        settings.upload_tmp_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="result-", dir=settings.upload_tmp_dir))
    try:
        path = workdir / "result.tar"
        size = 0
        digest = hashlib.sha256()
        with path.open("wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                digest.update(chunk)
                if size > limit:
                    raise UploadTooLargeError(
                        f"the result is larger than job {job_id} allows ({limit} bytes, from its "
                        "outputs.max_size_mib)"
                    )
                out.write(chunk)
        check_body_hash(caller, "0x" + digest.hexdigest(), f"POST {request.url.path}")
        return await run_in_threadpool(store_result, gateway, path, cid, job_id, caller)
    finally:
        await run_in_threadpool(shutil.rmtree, workdir, True)
