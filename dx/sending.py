"""Sending a stream of events in batches at a bounded rate, and tallying what the collector said."""

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, TypeVar

from dx.client import BatchResult, CollectorClient
from shared.contracts.events import reason_code

T = TypeVar("T")


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


@dataclass
class Summary:
    """Sent, accepted and rejected-by-reason counts of a run."""

    sent: int = 0
    accepted: int = 0
    retries: int = 0
    rejected: Counter[str] = field(default_factory=Counter)

    def add(self, sent: int, result: BatchResult) -> None:
        self.sent += sent
        self.accepted += result.accepted
        self.retries += result.retries
        for item in result.rejected:
            errors = item.get("errors") or ["unknown: event: no reason given"]
            self.rejected[reason_code(errors[0])] += 1

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def lines(self) -> list[str]:
        out = [f"sent {self.sent}, accepted {self.accepted}, rejected {self.rejected_total}, retries {self.retries}"]
        out += [f"  rejected {reason}: {n}" for reason, n in self.rejected.most_common()]
        return out


class Pacer:
    """Holds the average send rate at or below `rate` events per second (None: as fast as accepted)."""

    def __init__(
        self,
        rate: float | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate, self.clock, self.sleep = rate, clock, sleep
        self.start = clock()
        self.sent = 0

    async def wait(self, count: int) -> None:
        """Call before sending `count` events."""
        if self.rate:
            delay = self.start + self.sent / self.rate - self.clock()
            if delay > 0:
                await self.sleep(delay)
        self.sent += count


async def send_all(
    client: CollectorClient,
    events: Iterable[dict[str, Any]],
    *,
    batch: int,
    pacer: Pacer,
    summary: Summary,
    deadline: float | None = None,
    on_batch: Callable[[list[dict[str, Any]], BatchResult], None] | None = None,
) -> None:
    """Send `events` in batches until they run out or the monotonic `deadline` passes."""
    size = min(batch, 1000)
    for chunk in batches(events, size):
        if deadline is not None and time.monotonic() >= deadline:
            return
        await pacer.wait(len(chunk))
        result = await client.post(chunk)
        summary.add(len(chunk), result)
        if on_batch is not None:
            on_batch(chunk, result)
