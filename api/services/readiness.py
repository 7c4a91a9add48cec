"""What the gateway waits for before it calls itself ready: the RPC node, a deployment, a caught-up index.

`/readyz` is public, so what it says is redacted: never the RPC URL (it often carries an API key in its
path, query or userinfo), only what kind of failure it was. The full error goes to the server's log, at
WARNING, when the RPC's state changes. Checks are cached (`readiness_cache_s`) and never run twice at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import requests
from starlette.concurrency import run_in_threadpool

from api.indexer.runner import Indexer
from api.models.health import ReadinessCheck, ReadinessPublic
from api.settings import Settings
from chain import ChainError, ChainIdMismatch, Rpc, RpcError, RpcUnreachable

log = logging.getLogger(__name__)

REDACTED = "[RPC URL]"


def rpc_url_secrets(url: str) -> list[str]:
    """The parts of an RPC URL that must not be shown: the URL itself, its userinfo, path, query and
    fragment (longest first, so a part inside another is replaced after it)."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    candidates = {url, url.rstrip("/"), userinfo, parts.path, parts.query, parts.fragment}
    candidates |= {parts.username or "", parts.password or ""}
    return sorted((c for c in candidates if c and c != "/"), key=len, reverse=True)


def redact(text: str, url: str) -> str:
    for secret in rpc_url_secrets(url):
        text = text.replace(secret, REDACTED)
    return text


def _rpc_failure(exc: BaseException) -> str:
    """What kind of failure, in words that never quote the URL."""
    if isinstance(exc, ChainIdMismatch):
        return f"wrong chain id (the node serves {exc.actual}; expected {exc.expected})"
    causes: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(causes) < 10:
        causes.append(seen)
        seen = seen.__cause__ or seen.__context__
    if any(isinstance(c, (requests.Timeout, TimeoutError)) for c in causes):
        return "timed out"
    if any(isinstance(c, ConnectionRefusedError) or "refused" in str(c).lower() for c in causes):
        return "connection refused"
    if isinstance(exc, RpcUnreachable) or any(isinstance(c, requests.ConnectionError) for c in causes):
        return "connection failed"
    if isinstance(exc, RpcError):
        return f"the node answered with an error (code {exc.code})"
    return f"unexpected error ({type(exc).__name__})"


def _rpc_check(settings: Settings) -> tuple[ReadinessCheck, BaseException | None]:
    try:
        rpc = Rpc.connect(
            settings.rpc_url, expected_chain_id=settings.chain_id, timeout=min(2.0, settings.rpc_timeout_s)
        )
        head = rpc.block_number()
    except (ChainError, OSError) as exc:
        return ReadinessCheck(name="rpc", ok=False, detail=f"RPC not usable: {_rpc_failure(exc)}"), exc
    return ReadinessCheck(name="rpc", ok=True, detail=f"chain {settings.chain_id} at block {head}"), None


def _deployment_check(settings: Settings) -> ReadinessCheck:
    path = settings.deployment_file
    if not path.is_file():
        return ReadinessCheck(name="deployment", ok=False, detail=f"no deployment file at {path}")
    return ReadinessCheck(name="deployment", ok=True, detail=str(path))


def _indexer_check(settings: Settings, indexer: Indexer) -> ReadinessCheck:
    status = indexer.status
    if not status.running:
        return ReadinessCheck(name="indexer", ok=False, detail="indexer not running")
    if status.standby:
        return ReadinessCheck(
            name="indexer",
            ok=True,
            detail=f"standby: another gateway process indexes (at block {status.last_block})",
        )
    if status.waiting_for is not None:
        waiting = redact(status.waiting_for, settings.rpc_url)
        return ReadinessCheck(name="indexer", ok=False, detail=f"indexer waiting: {waiting}")
    lag = status.lag
    if lag is None:
        return ReadinessCheck(name="indexer", ok=False, detail="indexer has not reached the chain yet")
    if lag > settings.readiness_max_lag_blocks:
        return ReadinessCheck(name="indexer", ok=False, detail=f"indexer behind by {lag} blocks")
    return ReadinessCheck(name="indexer", ok=True, detail=f"indexed to block {status.last_block}")


def check_readiness(settings: Settings, indexer: Indexer | None) -> ReadinessPublic:
    """Blocking (one RPC round trip): call from a worker thread."""
    return _check(settings, indexer)[0]


def _check(settings: Settings, indexer: Indexer | None) -> tuple[ReadinessPublic, BaseException | None]:
    rpc, rpc_error = _rpc_check(settings)
    checks = [rpc, _deployment_check(settings)]
    if indexer is not None:
        checks.append(_indexer_check(settings, indexer))
    status = indexer.status if indexer is not None else None
    readiness = ReadinessPublic(
        ready=all(c.ok for c in checks),
        waiting_for=[c.detail for c in checks if not c.ok],
        checks=checks,
        last_block=status.last_block if status else None,
        safe_head=status.safe_head if status else None,
    )
    return readiness, rpc_error


class ReadinessCache:
    """`/readyz`'s answer, checked at most once per `readiness_cache_s`, one check at a time: requests
    that come while a check runs wait for that check instead of starting their own."""

    def __init__(
        self, settings: Settings, indexer: Indexer | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings
        self.indexer = indexer
        self.clock = clock
        self.checks_run = 0
        self._value: ReadinessPublic | None = None
        self._checked_at = 0.0
        self._in_flight: asyncio.Future[ReadinessPublic] | None = None
        self._rpc_state: str | None = None

    async def get(self) -> ReadinessPublic:
        if self._value is not None and self.clock() - self._checked_at < self.settings.readiness_cache_s:
            return self._value
        in_flight = self._in_flight
        if in_flight is None or in_flight.get_loop() is not asyncio.get_running_loop():
            in_flight = self._in_flight = asyncio.ensure_future(self._refresh())
        # shield: a client that hangs up does not cancel the check the others wait for
        return await asyncio.shield(in_flight)

    async def _refresh(self) -> ReadinessPublic:
        try:
            self.checks_run += 1
            readiness, rpc_error = await run_in_threadpool(_check, self.settings, self.indexer)
            self._note_rpc_state(readiness, rpc_error)
            self._value, self._checked_at = readiness, self.clock()
            return readiness
        finally:
            self._in_flight = None

    def _note_rpc_state(self, readiness: ReadinessPublic, rpc_error: BaseException | None) -> None:
        rpc = next(c for c in readiness.checks if c.name == "rpc")
        state = "ok" if rpc.ok else rpc.detail
        if state == self._rpc_state:
            return
        self._rpc_state = state
        if rpc_error is not None:
            # Full error (URL included) for the operator only; /readyz shows `rpc.detail`.
            log.warning("readiness: %s: %s", rpc.detail, rpc_error)
        else:
            log.info("readiness: the RPC node is usable again")
