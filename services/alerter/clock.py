"""The evaluation clock: which moment the targets are judged at. Injectable so tests evaluate at chosen dates;
alert timing (grace, startsAt, endsAt, lease) always uses the wall clock, because Alertmanager does."""

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class OffsetClock:
    """Starts at `start` and advances in real time."""

    start: datetime
    _origin: float = field(default_factory=time.monotonic)

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._origin)


@dataclass
class FixedClock:
    at: datetime

    def now(self) -> datetime:
        return self.at
