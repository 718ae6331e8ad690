"""When a connector's tick is due: the latest scheduled time at or before now (pure; no clock of its own).

Every process computes the same tick for the same moment, so the tick is what the lease fences: a tick is run by
one process once (services/pull/store.py), whichever process sees it first.
"""

from datetime import UTC, datetime, timedelta

from cronsim import CronSim

from services.pull.config import Schedule, parse_duration

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def current_tick(schedule: Schedule, now: datetime) -> datetime:
    """The scheduled time of the tick in force at `now` (interval ticks are aligned on the Unix epoch)."""
    if schedule.every is not None:
        step = parse_duration(schedule.every)
        return EPOCH + step * ((now - EPOCH) // step)
    assert schedule.cron is not None
    # In reverse, cronsim's first value is the latest fire time strictly before the moment it starts from; fire
    # times are whole minutes, so starting one second past `now` (whole) includes a fire time equal to `now`.
    start = now.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
    return next(iter(CronSim(schedule.cron, start, reverse=True)))


def backoff(failures: int, base_s: float, cap_s: float) -> float:
    """Seconds to wait after the `failures`-th consecutive failure: base, 2 × base, 4 × base … up to cap."""
    return float(min(cap_s, base_s * 2 ** max(0, failures - 1)))


def interval_seconds(schedule: Schedule, now: datetime) -> float:
    """Time between the tick in force at `now` and the next one (for cron: the current gap)."""
    if schedule.every is not None:
        return parse_duration(schedule.every).total_seconds()
    assert schedule.cron is not None
    tick = current_tick(schedule, now)
    return (next(iter(CronSim(schedule.cron, tick))) - tick).total_seconds()
