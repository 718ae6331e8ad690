"""The replay horizon of applied_events (docs/storage.md): which months of events may be pruned, and whether a
horizon is long enough for what Kafka can still replay. Pure: no I/O."""

from datetime import UTC, date, datetime, timedelta

DAY_MS = 86_400_000


def month_of(moment: datetime) -> date:
    """The first day of the UTC month of an aware moment: the partition of applied_events it is received in."""
    utc = moment.astimezone(UTC)
    return date(utc.year, utc.month, 1)


def month_end(month: date) -> datetime:
    """The first instant (UTC) after the month that starts on `month`."""
    year, index = divmod(month.year * 12 + month.month, 12)  # month.month is 1-based: this is the next month
    return datetime(year, index + 1, 1, tzinfo=UTC)


def prunable(months: list[date], now: datetime, horizon: timedelta) -> list[date]:
    """The months, oldest first, whose every event was received more than `horizon` before `now`."""
    cutoff = now - horizon
    return sorted(m for m in months if month_end(m) <= cutoff)


def horizon_problem(horizon_days: int, retention_ms: dict[str, int | None]) -> str | None:
    """Why events received `horizon_days` ago may still be replayed by a topic (its retention.ms: -1 keeps every
    message; None, unknown), or None when the horizon is past what each topic keeps."""
    if horizon_days < 1:
        return f"the horizon must be at least 1 day, not {horizon_days}"
    for topic, ms in sorted(retention_ms.items()):
        if ms is None:
            return f"{topic}: its retention.ms could not be read, so the replay horizon cannot be checked"
        if ms < 0:
            return f"{topic} keeps every message (retention.ms={ms}): any event can be replayed, none may be pruned"
        if horizon_days * DAY_MS <= ms:
            return (
                f"{topic} keeps messages for {ms / DAY_MS:g} days (retention.ms={ms}): a horizon of "
                f"{horizon_days} days would forget events it can still replay; give more days than that"
            )
    return None


def beyond_horizon(kept_from: date) -> str:
    """The refusal reason of an event received before the months still kept."""
    return (
        f"beyond_horizon: received_at: the events received before {kept_from.isoformat()} were pruned; this one "
        "cannot be told from a replay of one of them, so it is not counted"
    )
