"""Apply one batch of events in one PostgreSQL transaction, together with the consumer offsets it reaches."""

from dataclasses import dataclass, field
from datetime import date

import asyncpg

from services.aggregator import sql, store
from services.aggregator.decode import Fact
from services.aggregator.fold import Plan, exact, late_specs, plan, spec_as_of_today
from services.aggregator.store import Offsets, StagedRow
from shared.domain.catalog import Catalog, Semantics
from shared.domain.hierarchy import Hierarchy
from shared.domain.rollup import Sums, ValueSpec, compose

NO_DATA = Sums(None, None, None, 0, None)


@dataclass(frozen=True)
class Located:
    """An event and where it was read."""

    event: Fact
    partition: int
    offset: int


@dataclass
class Applied:
    new: list[Fact] = field(default_factory=list)
    duplicates: int = 0
    changed: list[asyncpg.Record] = field(default_factory=list)


def staged(item: Located) -> StagedRow:
    e = item.event
    return (e.event_id, e.indicator, e.unit, e.observed_at, e.numerator, e.denominator, exact(e.value),
            e.source, e.received_at, item.partition, item.offset)  # fmt: skip


@dataclass(frozen=True)
class Staged:
    """A batch ready for its transaction: the rows to COPY and the plan if every event is new (the usual case),
    both worked out before the transaction so that they overlap the previous one."""

    items: list[Located]
    rows: list[StagedRow]
    todo: Plan
    today: date


def stage(items: list[Located], catalog: Catalog, hierarchy: Hierarchy, today: date) -> Staged:
    return Staged(items, [staged(i) for i in items], plan([i.event for i in items], catalog, hierarchy, today), today)


async def apply_batch(
    pool: asyncpg.Pool, catalog: Catalog, hierarchy: Hierarchy, batch: Staged, offsets: Offsets
) -> Applied:
    """Insert the new events, fold them into buckets and values, and store the offsets: all or nothing."""
    result = Applied()
    items = batch.items
    async with pool.acquire() as conn, conn.transaction():
        if items:
            await store.prepare(conn)
            snapshots = [i.code for i in catalog.indicators if i.semantics is Semantics.SNAPSHOT]
            new_ids = await store.insert_new_events(conn, batch.rows, snapshots)
            if new_ids is None:
                result.new, todo = [i.event for i in items], batch.todo
            else:
                for item in sorted(items, key=lambda i: (i.partition, i.offset)):
                    if item.event.event_id in new_ids:
                        new_ids.discard(item.event.event_id)  # the first copy in the batch is the one applied
                        result.new.append(item.event)
                todo = plan(result.new, catalog, hierarchy, batch.today)
            result.duplicates = len(items) - len(result.new)
            await store.add_buckets(conn, todo.buckets)
            later = late_specs(await store.later_rows(conn, todo.late), catalog, hierarchy)
            result.changed = await _recompute(conn, catalog, {**later, **todo.daily}, todo.current)
        await store.save_offsets(conn, offsets)
    return result


async def refresh_increments(
    pool: asyncpg.Pool, catalog: Catalog, hierarchy: Hierarchy, today: date
) -> list[asyncpg.Record]:
    """Re-evaluate current increment values as days leave the trailing window (an emptied window is NULL: no data);
    returns the changed rows."""
    codes = [i.code for i in catalog.indicators if i.semantics is Semantics.INCREMENT]
    async with pool.acquire() as conn, conn.transaction():
        current = {}
        for row in await conn.fetch(sql.INCREMENT_SERIES, codes):
            spec = spec_as_of_today(catalog, hierarchy, row["indicator"], row["unit"], today)
            if spec is not None:
                current[(spec.indicator, spec.unit)] = spec
        return await _recompute(conn, catalog, {}, current, empty_is_null=True)


async def _recompute(
    conn: asyncpg.Connection,
    catalog: Catalog,
    daily: dict[tuple[str, str, date], ValueSpec],
    current: dict[tuple[str, str], ValueSpec],
    empty_is_null: bool = False,
) -> list[asyncpg.Record]:
    specs = dict(daily)
    specs.update({(s.indicator, s.unit, s.day): s for s in current.values()})
    await store.lock_series(conn, [(s.indicator, s.unit) for s in specs.values() if not s.is_leaf])
    values = await store.compute(conn, specs, catalog)
    if empty_is_null:  # nothing left in the window: no value (the row stays, so the change is published)
        for s in current.values():
            values.setdefault((s.indicator, s.unit, s.day), compose(catalog[s.indicator], s, NO_DATA))
    await store.write_daily(conn, {k: values[k] for k in daily if k in values})
    return await store.write_current(conn, current.values(), values)
