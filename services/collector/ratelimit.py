"""Per-source token buckets: `rate` events per second refill, at most `burst` stored."""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`take(source, n)` spends n tokens, or returns the seconds to wait before n would be available."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, source: str, n: int) -> float:
        """0.0 when allowed (the tokens are spent); otherwise the wait in seconds, and nothing is spent."""
        now = self.clock()
        bucket = self._buckets.get(source)
        if bucket is None:
            bucket = self._buckets[source] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if n <= bucket.tokens:
            bucket.tokens -= n
            return 0.0
        return (n - bucket.tokens) / self.rate

    def give_back(self, source: str, n: int) -> None:
        """Return `n` tokens spent ahead (an estimate that proved too high), never above the burst."""
        bucket = self._buckets.get(source)
        if bucket is not None and n > 0:
            bucket.tokens = min(self.burst, bucket.tokens + n)

    @staticmethod
    def retry_after(wait: float) -> str:
        """The Retry-After header value: whole seconds, at least 1."""
        return str(max(1, math.ceil(wait)))
