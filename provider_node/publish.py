"""Publishing a job's result to the gateway, where validators and the requester look for it by CID.

The packed result is already pinned in this node's store; it is read back from there (every block verified)
and uploaded as `POST {gateway}/jobs/{id}/results/{cid}`, signed by the provider's key (a `Request` of the
gateway's protocol, `gateway_protocol`, naming that gateway and the SHA-256 of the bytes). The gateway
takes it only from the job's provider, checks the bytes against the CID and the size against the
manifest's `outputs.max_size_mib`.

While the gateway is down, or its index has not seen the claim yet, the upload is retried with backoff for
at most `max_wait_s`; a refusal that retrying cannot change (other bytes, too large) ends it at once. The
caller submits in any case: a result that reached no gateway is only in this node's store, which is logged
loudly, since validators that cannot fetch it will vote it withheld.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator

import httpx
from eth_account.signers.local import LocalAccount

from chain import JobId
from gateway_protocol import gateway_authority, request_headers
from jobs.cid import Cid
from jobs.store import ContentStore, StoreError

__all__ = ["publish_result", "result_path"]

log = logging.getLogger(__name__)

# A gateway that has not indexed the claim yet answers 403 (no provider) or 404 (no job): it will catch up.
_RETRYABLE = frozenset({401, 403, 404, 408, 425, 429, 500, 502, 503, 504})


def result_path(job_id: JobId, cid: Cid) -> str:
    """The gateway's path for publishing `cid` as job `job_id`'s result (what the signature covers)."""
    return f"/jobs/{job_id}/results/{cid}"


class _Refused(Exception):
    """The gateway refused the upload for a reason retrying cannot change."""


def _body(store: ContentStore, cid: Cid) -> Iterator[bytes]:
    yield from store.cat(cid)


def _upload(
    http: httpx.Client, signer: LocalAccount, chain_id: int, store: ContentStore, job_id: JobId, cid: Cid
) -> None:
    """One signed upload; raises `_Refused` (final) or `httpx.HTTPError` / `RuntimeError` (retry)."""
    path = result_path(job_id, cid)
    digest = hashlib.sha256()
    for chunk in store.cat(cid):  # read twice (hash, then send) rather than held in memory
        digest.update(chunk)
    headers = request_headers(
        signer,
        chain_id,
        "POST",
        path,
        gateway=gateway_authority(str(http.base_url)),
        body_hash="0x" + digest.hexdigest(),
    )
    headers["Content-Type"] = "application/x-tar"
    headers["Content-Length"] = str(store.stat(cid).size)
    response = http.post(path, content=_body(store, cid), headers=headers)
    if response.status_code in (200, 201):
        return
    try:
        detail = str(response.json().get("detail", response.text))
    except ValueError:
        detail = response.text or response.reason_phrase
    if response.status_code in _RETRYABLE:
        raise RuntimeError(f"the gateway answered {response.status_code}: {detail}")
    raise _Refused(f"the gateway refused it ({response.status_code}): {detail}")


def publish_result(
    gateway_url: str,
    signer: LocalAccount,
    chain_id: int,
    store: ContentStore,
    job_id: JobId,
    cid: Cid,
    *,
    max_wait_s: float,
    stop: threading.Event,
    timeout_s: float = 120.0,
    max_backoff_s: float = 15.0,
) -> bool:
    """Upload job `job_id`'s result `cid` (from `store`) to the gateway; True once it holds it. Tries at
    least once, then retries while the gateway may still take it, for at most `max_wait_s` (or until
    `stop`); every failure is logged, none is raised."""
    give_up_at = time.monotonic() + max_wait_s
    delay = 0.5
    reason = "not tried"
    # trust_env off: a proxy from the environment must not see (or break) traffic to a local gateway.
    with httpx.Client(
        base_url=gateway_url.rstrip("/"),
        timeout=httpx.Timeout(30.0, read=timeout_s, write=timeout_s),
        trust_env=False,
    ) as http:
        while True:
            try:
                _upload(http, signer, chain_id, store, job_id, cid)
            except _Refused as exc:
                reason = str(exc)
                break
            except (httpx.HTTPError, RuntimeError) as exc:
                reason = str(exc) or type(exc).__name__
                if time.monotonic() + delay > give_up_at or stop.is_set():
                    break
                log.warning(
                    "job %d: publishing result %s to the gateway at %s failed (%s); retrying in %.1f s",
                    job_id,
                    cid,
                    gateway_url,
                    reason,
                    delay,
                )
                if stop.wait(delay):
                    break
                delay = min(delay * 2, max_backoff_s)
                continue
            except StoreError as exc:  # this node's own store cannot read it back
                reason = f"this node's store could not read it: {exc}"
                break
            log.info("job %d: result %s published to the gateway at %s", job_id, cid, gateway_url)
            return True
    log.error(
        "job %d: RESULT %s IS ONLY IN THIS NODE'S STORE: the gateway at %s did not take it (%s). Validators "
        "and the requester that cannot reach this node's store will not find it, and validators vote a "
        "result they cannot fetch as withheld. Bring the gateway up (the node submits anyway), or serve "
        "this store through Kubo (CROWDCOMPUTE_KUBO_API)",
        job_id,
        cid,
        gateway_url,
        reason,
    )
    return False
