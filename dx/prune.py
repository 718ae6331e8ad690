"""`dx events prune`: detach the months of applied_events past the replay horizon (docs/storage.md).

A month goes in one transaction, as the migrations' role (DDL): it locks applied_events (the aggregator waits, it
loses nothing), keeps the best event still in force of every series-day and series-period in the floor tables
(what a recomputation after a later amendment would have found among them: shared/migrations/0023; a bucket's
is a column of its row), removes the
month's refusals, detaches the partition and drops it, or keeps it as a table of its own with `--keep`, and records
the month in pruned_event_months. The aggregates (buckets, snapshot days, period values, daily and current values)
are not touched: no value changes.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import asyncpg

from shared.domain.horizon import month_end, prunable
from shared.settings import Settings

PARTITION = re.compile(r"applied_events_p(\d{4})(\d{2})")
LOCK_TIMEOUT = "60s"  # the aggregator's transactions last seconds; a lock wait longer than this is an error

ATTACHED = """
SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'applied_events'::regclass ORDER BY 1
"""

# {p}: the partition, a name that matched PARTITION. In force: neither a retraction nor replaced. Days and periods
# as the aggregator keys them (services/aggregator/sql.py ADD_SNAPSHOT_DAYS, ADD_PERIOD_VALUES, BUCKET_LAST_OF_EVENTS).
SNAPSHOT_FLOOR = """
INSERT INTO agg_snapshot_floor (indicator, unit, day, observed_at, event_id, numerator, denominator, value)
SELECT DISTINCT ON (a.indicator, a.unit, (a.observed_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date)
       a.indicator, a.unit, (a.observed_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, a.observed_at, a.event_id,
       a.numerator, a.denominator, a.value
FROM {p} a JOIN indicators i ON i.code = a.indicator
WHERE i.semantics = 'snapshot' AND a.retracts IS NULL AND a.replaced_by IS NULL
ORDER BY a.indicator, a.unit, (a.observed_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, a.observed_at DESC,
         a.event_id DESC
ON CONFLICT (indicator, unit, day) DO UPDATE SET
    observed_at = EXCLUDED.observed_at, event_id = EXCLUDED.event_id, numerator = EXCLUDED.numerator,
    denominator = EXCLUDED.denominator, value = EXCLUDED.value
WHERE (EXCLUDED.observed_at, EXCLUDED.event_id) > (agg_snapshot_floor.observed_at, agg_snapshot_floor.event_id)
"""

PERIOD_FLOOR = """
INSERT INTO period_floor (indicator, unit, period, observed_at, event_id, value, numerator, denominator)
SELECT DISTINCT ON (a.indicator, a.unit, a.period) a.indicator, a.unit, a.period, a.observed_at, a.event_id,
       a.value, a.numerator, a.denominator
FROM {p} a
WHERE a.period IS NOT NULL AND a.retracts IS NULL AND a.replaced_by IS NULL
ORDER BY a.indicator, a.unit, a.period, a.observed_at DESC, a.event_id DESC
ON CONFLICT (indicator, unit, period) DO UPDATE SET
    observed_at = EXCLUDED.observed_at, event_id = EXCLUDED.event_id, value = EXCLUDED.value,
    numerator = EXCLUDED.numerator, denominator = EXCLUDED.denominator
WHERE (EXCLUDED.observed_at, EXCLUDED.event_id) > (period_floor.observed_at, period_floor.event_id)
"""

BUCKET_FLOOR = """
UPDATE agg_buckets b SET floor_observed_at = greatest(b.floor_observed_at, x.last)
FROM (
    SELECT a.indicator, a.unit, (a.observed_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day,
           max(a.observed_at) AS last
    FROM {p} a JOIN indicators i ON i.code = a.indicator
    WHERE i.semantics = 'increment' AND a.retracts IS NULL AND a.replaced_by IS NULL
    GROUP BY 1, 2, 3
) x
WHERE b.indicator = x.indicator AND b.unit = x.unit AND b.day = x.day
"""

# the aggregator never creates a pruned month again (store.EventMonths); a partition made by hand may be pruned twice
RECORD = """
INSERT INTO pruned_event_months (month, events, bytes, kept_as) VALUES ($1, $2, $3, $4)
ON CONFLICT (month) DO UPDATE SET events = pruned_event_months.events + EXCLUDED.events,
    bytes = pruned_event_months.bytes + EXCLUDED.bytes, pruned_at = now(),
    kept_as = coalesce(EXCLUDED.kept_as, pruned_event_months.kept_as)
"""


@dataclass(frozen=True)
class Pruned:
    month: date
    events: int
    bytes: int  # the partition's, heap and indexes
    snapshot_days: int  # floor rows written or raised
    periods: int
    bucket_days: int  # buckets whose floor was written or raised
    refusals: int
    kept_as: str | None


def month_of_partition(name: str) -> date | None:
    found = PARTITION.fullmatch(name)
    return None if found is None else date(int(found[1]), int(found[2]), 1)


async def attached_months(settings: Settings) -> dict[date, str]:
    """Every month applied_events holds, with its partition's name."""
    conn = await asyncpg.connect(settings.pg_dsn("owner"))
    try:
        names = [r["name"] for r in await conn.fetch(ATTACHED)]
    finally:
        await conn.close()
    return {m: n for n in names if (m := month_of_partition(n)) is not None}


async def candidates(settings: Settings, now: datetime, horizon: timedelta) -> list[tuple[date, str]]:
    """(month, partition) of the months past the horizon, oldest first."""
    months = await attached_months(settings)
    return [(m, months[m]) for m in prunable(list(months), now, horizon)]


async def prune_month(settings: Settings, month: date, partition: str, keep: bool) -> Pruned:
    """Prune one month (see the module's docstring); all or nothing."""
    if month_of_partition(partition) != month:
        raise ValueError(f"{partition} is not the partition of {month:%Y-%m}")
    conn = await asyncpg.connect(settings.pg_dsn("owner"))
    try:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            await conn.execute("LOCK TABLE applied_events IN ACCESS EXCLUSIVE MODE")
            events = int(await conn.fetchval(f"SELECT count(*) FROM {partition}"))
            size = int(await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", partition))
            counts = [_count(await conn.execute(q.format(p=partition))) for q in (SNAPSHOT_FLOOR, PERIOD_FLOOR,
                                                                                 BUCKET_FLOOR)]  # fmt: skip
            refusals = _count(await conn.execute("DELETE FROM event_refusals WHERE received_at < $1",
                                                 month_end(month)))  # fmt: skip
            await conn.execute(f"ALTER TABLE applied_events DETACH PARTITION {partition}")
            kept_as = f"pruned_events_{partition.removeprefix('applied_events_')}" if keep else None
            if kept_as is None:
                await conn.execute(f"DROP TABLE {partition}")
            else:
                await conn.execute(f"ALTER TABLE {partition} RENAME TO {kept_as}")
            await conn.execute(RECORD, month, events, size, kept_as)
    finally:
        await conn.close()
    return Pruned(month, events, size, counts[0], counts[1], counts[2], refusals, kept_as)


def _count(status: str) -> int:
    """The row count of an INSERT/DELETE command tag ("INSERT 0 12", "DELETE 3")."""
    return int(status.rsplit(" ", 1)[-1])
