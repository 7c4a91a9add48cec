"""Token-bucket rate limits, one bucket per caller (an address, an API key or an IP)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from api.errors import RateLimitedError

_MAX_BUCKETS = 100_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`rate_per_s` tokens per second, at most `burst` saved up; one request costs one token."""

    def __init__(self, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def check(self, caller: str) -> None:
        """Take a token for `caller`, or raise `RateLimitedError` saying when one will be there."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(caller)
            if bucket is None:
                if len(self._buckets) >= _MAX_BUCKETS:
                    self._forget_full(now)
                bucket = self._buckets[caller] = _Bucket(float(self.burst), now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate_per_s)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait = (1.0 - bucket.tokens) / self.rate_per_s
        raise RateLimitedError(f"rate limit for {caller} exceeded; retry in {wait:.1f} s", retry_after_s=wait)

    def wait_s(self, caller: str) -> float:
        """Seconds until `caller` has a token again (0.0 when it has one now); takes nothing."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(caller)
            if bucket is None:
                return 0.0
            tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate_per_s)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate_per_s

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled: they are indistinguishable from new ones."""
        full_after = self.burst / self.rate_per_s
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated < full_after}
