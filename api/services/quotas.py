"""Who may store bundles here, and how much: storage is tied to an identity that costs something.

`POST /bundles` is taken from a configured API key, or from a signed address with at least
`upload_min_tokens` at stake on chain (its token balance plus its stake in the market; a fresh key has
none, so it is refused with 403 before a byte of its body is read). Each identity may hold at most
`upload_quota_bytes` of bundles that no indexed job references yet (`jobs.bundle_cid`); a bundle a job
points at no longer counts. The identity is what `bundles.uploaded_by` records: the address, or
``api-key:<fingerprint>`` for a key bound to none.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlsplit

from api.db import Connection
from api.errors import QuotaExceededError, ServiceUnavailableError, StakeRequiredError
from api.services.auth import Caller
from api.settings import Settings
from chain import ChainError, DeploymentNotFound, MarketClient, Rpc, load_deployment

__all__ = [
    "ChainStake",
    "UploadAdmission",
    "UploadSlots",
    "admit_upload",
    "identity_of",
    "require_stake",
    "unreferenced_bytes",
]

TOKEN_UNIT = 10**18
"""Base units per token (the CROWD token has 18 decimals)."""

StakeLookup = Callable[[str], int]
"""An address's token balance plus its stake in the market, in base units (raises
`ServiceUnavailableError` when the chain cannot be read)."""


def identity_of(caller: Caller) -> str:
    """Whom an upload is charged to: the proven address, else the API key's fingerprint."""
    if caller.address is not None:
        return caller.address
    key = caller.api_key or caller.rate_key
    return "api-key:" + hashlib.sha256(key.encode()).hexdigest()[:16]


def unreferenced_bytes(conn: Connection, identity: str) -> int:
    """The bytes of `identity`'s bundles that no indexed job references (what its quota counts)."""
    row = conn.execute(
        "SELECT COALESCE(SUM(size), 0) FROM bundles WHERE uploaded_by = ?"
        " AND cid NOT IN (SELECT bundle_cid FROM jobs WHERE bundle_cid IS NOT NULL)",
        (identity,),
    ).fetchone()
    return int(row[0])


def min_stake(settings: Settings) -> int:
    return int(settings.upload_min_tokens * TOKEN_UNIT)


def _tokens(amount: int) -> str:
    return f"{Decimal(amount) / TOKEN_UNIT:f}"


def _rpc_name(url: str) -> str:
    """The RPC node's host and port, never its path or query (where providers put API keys)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


class ChainStake:
    """`StakeLookup` from the gateway's RPC node, each address cached for `ttl_s`."""

    def __init__(self, settings: Settings, ttl_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self._settings = settings
        self._ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()
        self._market: MarketClient | None = None

    def __call__(self, address: str) -> int:
        now = self._clock()
        with self._lock:
            hit = self._cache.get(address)
            if hit is not None and now - hit[0] < self._ttl_s:
                return hit[1]
        try:
            market = self._market or self._connect()
            self._market = market
            staked = int(market.token.balance_of(address)) + int(market.account_of(address).stake)
        except DeploymentNotFound as exc:
            raise ServiceUnavailableError(
                f"signed uploads need the market's deployment to check the uploader's stake: {exc}; "
                "or upload with an API key"
            ) from exc
        except ChainError as exc:
            self._market = None
            raise ServiceUnavailableError(
                f"the chain RPC at {_rpc_name(self._settings.rpc_url)} (setting rpc_url) could not be read, "
                f"so this address's stake cannot be checked; try again, or upload with an API key: {exc}"
            ) from exc
        with self._lock:
            self._cache[address] = (now, staked)
        return staked

    def _connect(self) -> MarketClient:
        settings = self._settings
        rpc = Rpc.connect(
            settings.rpc_url, expected_chain_id=settings.chain_id, timeout=settings.rpc_timeout_s
        )
        return MarketClient(rpc, load_deployment(settings.chain_id, settings.deployments_dir))


@dataclass(frozen=True)
class UploadAdmission:
    """An accepted uploader: whom the bundle is charged to, and how many bytes it may still add."""

    identity: str
    used: int
    quota: int

    @property
    def room(self) -> int:
        return max(0, self.quota - self.used)

    def refuse(self, adding: int, *, at_least: bool = False) -> QuotaExceededError:
        more = f"at least {adding}" if at_least else str(adding)
        return QuotaExceededError(
            f"upload quota exceeded: {self.identity} holds {self.used} bytes of bundles no job references "
            f"yet, and this upload's {more} bytes would pass its quota of {self.quota} bytes (setting "
            "upload_quota_bytes); "
            "post jobs that use your bundles, or wait for unreferenced ones to expire "
            "(unreferenced_bundle_ttl_s)"
        )

    def check(self, adding: int) -> None:
        if self.used + adding > self.quota:
            raise self.refuse(adding)


def require_stake(settings: Settings, stake_of: StakeLookup, caller: Caller) -> None:
    """Refuse (403, or 503 when the chain cannot be read) a signed uploader with too little at stake; an API
    key passes (blocking: the stake may come from the RPC node). Run before the request's nonce is recorded,
    so a fresh key's refused upload writes nothing at all."""
    if caller.via != "signature" or caller.address is None:
        return
    needed = min_stake(settings)
    staked = stake_of(caller.address)
    if staked < needed:
        raise StakeRequiredError(
            f"{caller.address} has {_tokens(staked)} tokens (balance plus stake in the market) and "
            f"uploads need at least {_tokens(needed)} (setting upload_min_tokens): fund the account "
            "or stake in the market, or upload with an API key"
        )


class UploadSlots:
    """One upload at a time per identity (the others wait), so two concurrent uploads cannot both fit in
    the same room of its quota. Used on the event loop only."""

    def __init__(self) -> None:
        self._slots: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, identity: str) -> AsyncIterator[None]:
        lock, users = self._slots.get(identity, (asyncio.Lock(), 0))
        self._slots[identity] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._slots[identity]
            if users == 1:
                del self._slots[identity]
            else:
                self._slots[identity] = (lock, users - 1)


def admit_upload(
    settings: Settings,
    conn: Connection,
    stake_of: StakeLookup,
    caller: Caller,
    declared_bytes: int | None,
) -> UploadAdmission:
    """Refuse (403, 413, 503) an uploader with nothing at stake or no room left, before its body is read
    (blocking: the stake may come from the RPC node, cached)."""
    require_stake(settings, stake_of, caller)
    identity = identity_of(caller)
    admission = UploadAdmission(identity, unreferenced_bytes(conn, identity), settings.upload_quota_bytes)
    if declared_bytes is not None:
        admission.check(declared_bytes)
    return admission
