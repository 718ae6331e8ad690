"""The one failure policy of every consume loop: retry the same work with capped exponential backoff and full
jitter, log once when it starts failing and once when it recovers (not a traceback per attempt), never skip."""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass
class Backoff:
    """Delays base·2ⁿ capped at `cap`, each drawn uniformly from [0, that] (full jitter: retrying copies spread)."""

    what: str
    log: logging.Logger
    base: float = 0.2
    cap: float = 5.0
    failures: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def failed(self, err: BaseException) -> float:
        """Record a failure; returns the delay before the next attempt. Logs only the first failure of a run."""
        if self.failures == 0:
            self.log.warning(
                "%s failing, retrying with backoff (up to %.1fs): %r", self.what, self.cap, err, exc_info=err
            )
        self.failures += 1
        return self.rng.uniform(0, min(self.cap, self.base * 2 ** (self.failures - 1)))

    def succeeded(self) -> None:
        if self.failures:
            self.log.info("%s recovered after %d failed attempts", self.what, self.failures)
        self.failures = 0


async def until_done(work: Callable[[], Awaitable[T]], backoff: Backoff) -> T:
    """Run `work` until it succeeds (cancellation stops it): the caller never moves past a failure."""
    while True:
        try:
            result = await work()
        except Exception as err:
            await asyncio.sleep(backoff.failed(err))
            continue
        backoff.succeeded()
        return result
