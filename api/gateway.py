"""Everything one running gateway holds: settings, database, content store, auth, limits and the indexer."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from api.db import open_database
from api.errors import ServiceUnavailableError
from api.indexer.runner import Indexer, SourceFactory, default_source_factory
from api.services.auth import Authenticator
from api.services.expiry import BundleSweeper
from api.services.log_streams import StreamSlots
from api.services.nonces import MemoryNonceStore, NonceStore, SqliteNonceStore
from api.services.quotas import ChainStake, StakeLookup, UploadSlots
from api.services.ratelimit import RateLimiter
from api.services.readiness import ReadinessCache
from api.services.seeds import BlockHashes
from api.settings import Settings
from jobs.store import ContentStore, StoreError, open_store

log = logging.getLogger(__name__)


class Gateway:
    def __init__(self, settings: Settings, *, source_factory: SourceFactory | None = None) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = open_database(settings)
        nonces: NonceStore = (
            SqliteNonceStore(self.db) if settings.nonce_store == "sqlite" else MemoryNonceStore()
        )
        self.limiter = RateLimiter(settings.rate_limit_per_minute / 60.0, settings.rate_limit_burst)
        self.auth = Authenticator(settings, nonces, self.limiter)
        self.report_limiter = RateLimiter(
            settings.report_rate_limit_per_minute / 60.0, settings.report_rate_limit_burst
        )
        self.vote_limiter = RateLimiter(
            settings.vote_rate_limit_per_minute / 60.0, settings.vote_rate_limit_burst
        )
        self.block_hash: Callable[[int], bytes | None] = BlockHashes(
            settings.rpc_url, settings.chain_id, settings.rpc_timeout_s
        )
        """A block's hash (None while not mined): the seed of a committee; tests replace it."""
        self.indexer = Indexer(
            self.db,
            source_factory or default_source_factory(settings),
            poll_interval_s=settings.indexer_poll_interval_s,
            backoff_max_s=settings.indexer_backoff_max_s,
            standby_poll_s=settings.indexer_standby_poll_s,
        )
        # log relay and health
        self.log_streams = StreamSlots(per_ip=settings.sse_max_streams_per_ip, total=settings.sse_max_streams)
        self.readiness = ReadinessCache(settings, self.indexer if settings.indexer_enabled else None)
        self._store: ContentStore | None = None
        self._store_lock = threading.Lock()
        # uploads
        self.upload_stake: StakeLookup = ChainStake(settings, settings.upload_stake_cache_s)
        """An address's token balance plus stake (base units), which signed uploads need; tests replace it."""
        self.upload_slots = UploadSlots()
        self.bundle_pins_lock = threading.Lock()
        """Held while a bundle is pinned and recorded, or forgotten and unpinned by the sweep."""
        self.sweeper = BundleSweeper(
            self.db,
            lambda: self.store,
            settings.unreferenced_bundle_ttl_s,
            settings.sweep_interval_s,
            self.bundle_pins_lock,
        )

    @property
    def store(self) -> ContentStore:
        """The content store, opened on first use (a Kubo node may come up after the gateway)."""
        with self._store_lock:
            if self._store is None:
                try:
                    self._store = open_store(self.settings.store_settings())
                except (StoreError, OSError) as exc:
                    raise ServiceUnavailableError(f"content store unavailable: {exc}") from exc
            return self._store

    def start(self) -> None:
        if self.settings.indexer_enabled:
            self.indexer.start()
        self.sweeper.start()

    def close(self) -> None:
        self.indexer.stop()
        self.sweeper.stop()
        with self._store_lock:
            if self._store is not None:
                self._store.close()
                self._store = None
        self.db.close()
