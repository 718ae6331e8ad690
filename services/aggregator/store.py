"""PostgreSQL side of the aggregator: one transaction per batch applies events, recomputes values, moves offsets.

Exactly-once effect: `applied_events (source, event_id)` is the primary key and only the rows this transaction
inserted are folded in. Values are recomputed from the applied events / buckets (never incremented), under transaction
advisory locks on the rollup series taken in sorted order, so the last writer of a shared rollup always sees
every committed contribution. Multi-row writes sort their keys so concurrent instances cannot deadlock.
"""

import hashlib
import io
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import asyncpg

from services.aggregator import sql
from services.aggregator.decode import Fact
from services.aggregator.fold import Bucket, SeriesDay, SeriesSum, exact
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.domain.horizon import beyond_horizon, month_of
from shared.domain.rollup import Computed, Sums, ValueSpec, compose, increment_rows, lineage_rows, tree_rows
from shared.domain.timeutil import EPOCH, MICROSECOND, local_date, micros

STAGE_COLUMNS = [
    "event_id", "indicator", "unit", "observed_us", "numerator", "denominator", "value",
    "source", "received_us", "kafka_partition", "kafka_offset", "period",
]  # fmt: skip


CHANGE_DAYS_PER_REFRESH = 20_000


@dataclass(frozen=True)
class Offsets:
    group: str
    topic: str
    next_offsets: dict[int, int]  # partition → next offset to read


def lock_key(indicator: str, unit: str) -> int:
    """A stable signed 64-bit advisory-lock key for one series."""
    return int.from_bytes(hashlib.blake2b(f"{indicator}:{unit}".encode(), digest_size=8).digest(), "big", signed=True)


async def prepare(conn: asyncpg.Connection) -> None:
    await conn.execute(sql.CREATE_STAGE)


async def clear_stage(conn: asyncpg.Connection) -> None:
    """Empty the staging table before the next batch of the same transaction (it empties itself at commit)."""
    await conn.execute(sql.CLEAR_STAGE)


async def increment_series(conn: asyncpg.Connection, codes: list[str]) -> list[tuple[str, str]]:
    """Every (indicator, unit) with a current value of the increment indicators `codes`."""
    return [(r["indicator"], r["unit"]) for r in await conn.fetch(sql.INCREMENT_SERIES, codes)]


class EventMonths:
    """The months of applied_events this process has made sure exist (shared/migrations/0023: partitioned by the UTC
    month of received_at), and the first day still kept when months were pruned (`dx events prune`). A month is
    created in a short transaction of its own, before the batch's transaction inserts into it: dx_event_partition()
    serialises creators under a lock that a long batch transaction would otherwise hold to its end, and would wait
    for the rollup locks another instance holds. A pruned month is never created again: its events are refused."""

    def __init__(self) -> None:
        self.known: set[date] = set()
        self.kept_from: date | None = None

    async def ensure(self, pool: asyncpg.Pool, moments: Iterable[datetime]) -> None:
        months = {month_of(m) for m in moments} - self.known
        if not months:
            return
        async with pool.acquire() as conn:
            self.kept_from = await conn.fetchval(sql.KEPT_FROM)
            for month in sorted(months):
                if self.kept_from is None or month >= self.kept_from:
                    await conn.execute(sql.EVENT_PARTITION, month)
                    self.known.add(month)

    def kept_from_us(self) -> int | None:
        """kept_from as microseconds since the epoch (agg_stage's times), or None when nothing was pruned."""
        return None if self.kept_from is None else micros(datetime.combine(self.kept_from, time(), UTC))

    def forget(self) -> None:
        """After an insert found no partition (a month pruned since): ask again next time."""
        self.known.clear()


async def insert_new_events(
    conn: asyncpg.Connection, copy: bytes, rows: int, before_insert: Callable[[Any], Awaitable[None]] | None = None,
    kept_from_us: int | None = None,
) -> list[Fact] | None:  # fmt: skip
    """Stage the batch (`rows` rows of STAGE_COLUMNS in COPY text format), run `before_insert` and insert the events
    never seen before and received since `kept_from_us` (EventMonths);
    None when all were new (the usual case: the batch's own plan stands), else the facts of the events inserted now,
    read back in offset order (the first copy of each, as the insert kept); the copies not applied are recorded as
    refused duplicates, or as received before the months kept."""
    await conn.copy_to_table("agg_stage", source=io.BytesIO(copy), columns=STAGE_COLUMNS, format="text")
    if before_insert is not None:
        await before_insert(conn)
    found = await conn.fetchrow(sql.INSERT_EVENTS, rows, kept_from_us)
    if found["n"] == rows:
        return None
    await conn.execute(sql.REFUSE_DUPLICATES)
    if kept_from_us is not None:
        kept_from = (EPOCH + kept_from_us * MICROSECOND).date()
        await conn.execute(sql.REFUSE_BEYOND_HORIZON, kept_from_us, beyond_horizon(kept_from))
    identities = [identity.split(" ", 1) for identity in found["ids"] or ()]  # array_agg(no rows) is NULL
    new = await conn.fetch(sql.EVENTS_BY_IDENTITY, [s for s, _ in identities], [e for _, e in identities])
    return [fact_of_row(row) for row in new]


async def stages_any(conn: asyncpg.Connection, keys: Sequence[tuple[str, str]]) -> bool:
    """Whether the staged batch holds any of these (source, event_id)."""
    return bool(await conn.fetchval(sql.STAGES_ANY, [s for s, _ in keys], [e for _, e in keys]))


def fact_of_row(row: Any) -> Fact:
    """An applied event's row as the fact it was applied from."""
    value = None if row["value"] is None else float(row["value"])
    return Fact(str(row["event_id"]), row["indicator"], row["unit"], row["observed_at"], row["numerator"],
                row["denominator"], value, row["source"], row["received_at"], local_date(row["observed_at"]),
                micros(row["observed_at"]), row["period"])  # fmt: skip


async def add_buckets(conn: asyncpg.Connection, buckets: dict[SeriesDay, Bucket]) -> None:
    if not buckets:
        return
    keys = sorted(buckets)
    rows = [buckets[k] for k in keys]
    await conn.execute(
        sql.ADD_BUCKETS, *key_columns(keys), *_columns(rows, "numerator", "denominator", "events", "last_observed_at")
    )


async def add_snapshot_days(conn: asyncpg.Connection, latest: dict[SeriesDay, SeriesSum]) -> None:
    if not latest:
        return
    keys = sorted(latest)
    rows = [latest[k] for k in keys]
    await conn.execute(
        sql.ADD_SNAPSHOT_DAYS,
        *key_columns(keys),
        *_columns(rows, "observed_at", "event_id", "latest_numerator", "latest_denominator"),
        [exact(r.latest_value) for r in rows],
    )


async def add_period_values(conn: asyncpg.Connection, latest: dict[tuple[str, str, str], Fact]) -> None:
    """Upsert the latest observation of each (indicator, unit, reference period) of the batch."""
    if not latest:
        return
    keys = sorted(latest)
    facts = [latest[k] for k in keys]
    await conn.execute(
        sql.ADD_PERIOD_VALUES,
        *key_columns(keys),
        *_columns(facts, "observed_at", "event_id"),
        [exact(f.value) for f in facts],
        *_columns(facts, "numerator", "denominator"),
    )


async def later_rows(conn: asyncpg.Connection, late: dict[SeriesDay, date]) -> list[SeriesDay]:
    """Existing daily rows after a late observation's day and before the end of its reach."""
    if not late:
        return []
    keys = list(late)
    rows = await conn.fetch(sql.LATER_ROWS, *key_columns(keys), [late[k] for k in keys])
    return [(r["indicator"], r["unit"], r["day"]) for r in rows]


async def lock_series(conn: asyncpg.Connection, series: Iterable[tuple[str, str]]) -> None:
    keys = sorted({lock_key(i, u) for i, u in series})
    if keys:
        await conn.execute(sql.LOCK_SERIES, keys)


async def compute(
    conn: asyncpg.Connection, specs: dict[SeriesDay, ValueSpec], catalog: Catalog
) -> dict[SeriesDay, Computed]:
    """The value of every spec, from applied events (snapshots) or buckets (increments)."""
    snap = [s for s in specs.values() if not s.increment]
    incr = [s for s in specs.values() if s.increment]
    rows: list[Any] = []
    if snap:
        rows += await snapshot_sums(conn, snap)
    if incr:
        rows += await conn.fetch(
            sql.INCREMENT_SUMS,
            *_columns(incr, "indicator", "unit", "day", "version_from", "lo_day", "hi_day", "is_leaf", "reported_at"),
        )
    out: dict[SeriesDay, Computed] = {}
    for r in rows:
        key = (r["indicator"], r["unit"], r["day"])
        sums = Sums(r["num"], r["den"], r["val"], r["children"], r["last"], r["own"], r["carried"])
        out[key] = compose(catalog[key[0]], specs[key], sums)
    return out


SPEC_COLUMNS = ("indicator", "unit", "day", "version_from", "is_leaf", "reported_at")


async def snapshot_sums(
    conn: asyncpg.Connection, specs: Sequence[ValueSpec], batched: bool | None = None
) -> list[asyncpg.Record]:
    """The sums of snapshot specs: a reporting unit's on a day it has an observation of its own, that observation
    (sql.OWN_SNAPSHOT_DAYS); the other series of one day on their own day (sql.SNAPSHOT_SUMS_PER_DAY), those of
    several days together (sql.SNAPSHOT_SUMS, its pieces staged with statistics first). `batched` forces one of the
    two general forms for every spec (the equivalence test)."""
    rows: list[asyncpg.Record] = []
    if batched is None:
        rows = await own_snapshot_days(conn, [s for s in specs if s.is_leaf])
        own = {(r["indicator"], r["unit"], r["day"]) for r in rows}
        rest = [s for s in specs if (s.indicator, s.unit, s.day) not in own]
        days = Counter((s.indicator, s.unit, s.version_from) for s in rest)
        several = [s for s in rest if days[(s.indicator, s.unit, s.version_from)] > 1]
        one = [s for s in rest if days[(s.indicator, s.unit, s.version_from)] == 1]
    else:
        several, one = (list(specs), []) if batched else ([], list(specs))
    if one:
        rows += await conn.fetch(sql.SNAPSHOT_SUMS_PER_DAY, *_columns(one, *SPEC_COLUMNS))
    if several:
        args = _columns(several, *SPEC_COLUMNS)
        async with conn.transaction():  # the staged pieces live until commit (a savepoint inside a batch's)
            await conn.execute(sql.CREATE_SERIES_PIECES)
            await conn.execute("TRUNCATE agg_series_pieces")  # an earlier call of this transaction left its pieces
            await conn.execute(sql.SERIES_PIECES, *args)
            await conn.execute("ANALYZE agg_series_pieces")
            rows += await conn.fetch(sql.SNAPSHOT_SUMS, *args)
    return rows


async def own_snapshot_days(conn: asyncpg.Connection, leaves: Sequence[ValueSpec]) -> list[asyncpg.Record]:
    """The sums of reporting units' specs on days they have an observation of their own (sql.OWN_SNAPSHOT_DAYS): that
    observation, as the general forms would value it."""
    if not leaves:
        return []
    return list(await conn.fetch(sql.OWN_SNAPSHOT_DAYS, *key_columns([(s.indicator, s.unit, s.day) for s in leaves])))


async def write_daily(
    conn: asyncpg.Connection, values: dict[SeriesDay, Computed], emptied: Collection[SeriesDay] | None = ()
) -> None:
    """Daily rows of the values there are (a day without a value keeps whatever row it has), and of the `emptied`
    keys (None: every key) even without one (NULL: no data)."""
    keep = values.keys() if emptied is None else emptied
    await _upsert_daily(conn, values, sorted(k for k, v in values.items() if v.value is not None or k in keep))


async def _upsert_daily(conn: asyncpg.Connection, values: dict[SeriesDay, Computed], keys: list[SeriesDay]) -> None:
    if keys:
        await conn.execute(
            sql.UPSERT_DAILY,
            *key_columns(keys),
            *_columns([values[k] for k in keys], "value", "numerator", "denominator", "coverage"),
        )


async def increment_change_days(
    conn: asyncpg.Connection, codes: list[str], today: date, version_days: list[date]
) -> list[SeriesDay]:
    """Days on which an increment value changed without an event and that have no daily row yet (oldest first, at
    most CHANGE_DAYS_PER_REFRESH)."""
    rows = await conn.fetch(sql.INCREMENT_CHANGE_DAYS, codes, today, version_days, CHANGE_DAYS_PER_REFRESH)
    return [(r["indicator"], r["unit"], r["day"]) for r in rows]


async def write_current(
    conn: asyncpg.Connection, specs: Iterable[ValueSpec], values: dict[SeriesDay, Computed]
) -> list[asyncpg.Record]:
    """Upsert current values; returns the rows that changed (for dx.rollups.v1)."""
    pairs = sorted(((s, values[(s.indicator, s.unit, s.day)]) for s in specs if (s.indicator, s.unit, s.day) in values),
                   key=lambda p: (p[0].indicator, p[0].unit))  # fmt: skip
    if not pairs:
        return []
    specs_sorted, computed = [p[0] for p in pairs], [p[1] for p in pairs]
    return list(
        await conn.fetch(
            sql.UPSERT_CURRENT,
            *_columns(specs_sorted, "indicator", "unit", "level"),
            *_columns(computed, "numerator", "denominator", "value", "reporting_children", "children_in_force"),
            *_columns(computed, "coverage", "last_observed_at", "carried_from", "reporting_carried"),
        )
    )


async def save_offsets(conn: asyncpg.Connection, offsets: Offsets) -> None:
    parts = sorted(offsets.next_offsets)
    await conn.execute(sql.SAVE_OFFSETS, offsets.group, offsets.topic, parts, [offsets.next_offsets[p] for p in parts])


async def stored_offsets(pool: asyncpg.Pool, group: str, topic: str, partitions: Iterable[int]) -> dict[int, int]:
    rows = await pool.fetch(sql.STORED_OFFSETS, group, topic, list(partitions))
    return {r["partition"]: r["next_offset"] for r in rows}


async def sync_tree(pool: asyncpg.Pool, hierarchy: Hierarchy) -> None:
    """Rebuild agg_unit_tree, the lineage tables and their flattening (agg_rollup_pieces) from the hierarchy
    (idempotent; serialized between instances)."""
    tables = {
        "agg_unit_tree": tree_rows(hierarchy),
        "agg_unit_lineage": lineage_rows(hierarchy),
        "agg_increment_sources": increment_rows(hierarchy),
    }
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(sql.LOCK_ONE, lock_key("agg_unit_tree", "sync"))
        for table, rows in tables.items():
            await conn.execute(sql.CLEAR_TABLE[table])
            await conn.copy_records_to_table(table, records=rows)
        await conn.execute(sql.CLEAR_TABLE["agg_rollup_pieces"])
        await conn.execute(sql.FLATTEN_PIECES)


def key_columns(keys: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
    """The keys' parts as one array each (indicator, unit, day or period), for unnest()."""
    return [list(part) for part in zip(*keys, strict=True)] if keys else []


def _columns(items: Sequence[Any], *names: str) -> list[list[Any]]:
    return [[getattr(item, name) for item in items] for name in names]
