"""Apply one batch of events in one PostgreSQL transaction, together with the consumer offsets it reaches."""

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime

import asyncpg

from services.aggregator import amend, sql, store
from services.aggregator.decode import Decoder, Fact
from services.aggregator.fold import Plan, SeriesDay, late_specs, plan, plan_series, spec_as_of_today
from services.aggregator.prepare import Part, Prepared, first_copies, latest_periods
from services.aggregator.store import Offsets
from shared.domain.catalog import Catalog, Semantics
from shared.domain.hierarchy import Hierarchy
from shared.domain.rollup import Sums, ValueSpec, compose

NO_DATA = Sums(None, None, None, 0, None)


@dataclass
class Applied:
    applied: int = 0  # events counted now (never seen before)
    duplicates: int = 0
    received: dict[datetime, int] = field(default_factory=dict)  # received_at → events applied
    changed: list[asyncpg.Record] = field(default_factory=list)


@dataclass(frozen=True)
class Staged:
    """A batch ready for its transaction: its COPY data and its plan if every event is new (the usual case), both
    worked out before the transaction so that they overlap the previous one; its raw parts for the rare batch that
    holds events applied before."""

    prepared: Prepared
    todo: Plan
    parts: list[Part]
    now: datetime
    today: date


def stage(
    prepared: Prepared, parts: list[Part], now: datetime, catalog: Catalog, hierarchy: Hierarchy, today: date
) -> Staged:
    return Staged(prepared, plan_series(prepared.series, catalog, hierarchy, today), parts, now, today)


Refuse = Callable[[list[amend.Refusal]], Awaitable[None]]


async def apply_batch(
    pool: asyncpg.Pool, catalog: Catalog, hierarchy: Hierarchy, decoder: Decoder, batch: Staged, offsets: Offsets,
    refuse: Refuse | None = None,
) -> Applied:  # fmt: skip
    """Insert the new events, fold them into buckets and values, apply the corrections and retractions, and store
    the offsets: all or nothing. `refuse` dead-letters the refused amendments before the offsets are stored."""
    result = Applied()
    prepared = batch.prepared
    async with pool.acquire() as conn, conn.transaction():
        if prepared.rows:
            await store.prepare(conn)
            new_ids = await store.insert_new_events(conn, prepared.copy, prepared.rows)
            if new_ids is None:
                result.applied, result.received, todo = prepared.rows, prepared.received, batch.todo
                periods = prepared.periods
            else:  # some were applied before: decode again here, keeping the first copy of each new event
                new = first_copies(decoder, batch.parts, new_ids)
                result.applied, result.received = len(new), dict(Counter(f.received_at for f in new))
                todo = plan(new, catalog, hierarchy, batch.today)
                periods = latest_periods(new)
            result.duplicates = prepared.rows - result.applied
            await store.add_buckets(conn, todo.buckets)
            await store.add_snapshot_days(conn, todo.snapshots)
            await store.add_period_values(conn, periods)
            later = late_specs(await store.later_rows(conn, todo.late), catalog, hierarchy)
            result.changed = await _recompute(conn, catalog, {**later, **todo.daily}, todo.current)
        if prepared.amendments:
            await _amend(conn, catalog, hierarchy, batch.today, prepared.amendments, result, refuse)
        await store.save_offsets(conn, offsets)
    return result


async def _amend(
    conn: asyncpg.Connection, catalog: Catalog, hierarchy: Hierarchy, today: date,
    amendments: list[tuple[int, int, Fact]], result: Applied, refuse: Refuse | None,
) -> None:  # fmt: skip
    judged = await amend.judge(conn, amendments)
    change = amend.effect(judged, catalog, hierarchy, today)
    await amend.write(conn, change)
    later = late_specs(await store.later_rows(conn, change.plan.late), catalog, hierarchy)
    changed = await _recompute(conn, catalog, {**later, **change.plan.daily}, change.plan.current, empty_is_null=True)
    latest = {(r["indicator"], r["unit"]): r for r in [*result.changed, *changed]}  # the amendments' rows win
    result.changed = list(latest.values())
    result.applied += judged.applied
    result.duplicates += judged.duplicates
    for _, _, fact in amendments:
        result.received[fact.received_at] = result.received.get(fact.received_at, 0) + 1
    if judged.refused:
        if refuse is None:
            raise RuntimeError("refused amendments and no dead-letter publisher")
        await refuse(judged.refused)


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
        changed = late_specs(
            await store.increment_change_days(conn, codes, today, [v.valid_from for v in hierarchy.versions]),
            catalog,
            hierarchy,
        )
        # every series lock of this transaction at once, in sorted order, as a batch takes them (no deadlock)
        specs = [*changed.values(), *current.values()]
        await store.lock_series(conn, [(s.indicator, s.unit) for s in specs if not s.is_leaf])
        await _write_change_days(conn, catalog, changed)
        return await _recompute(conn, catalog, {}, current, empty_is_null=True)


async def _write_change_days(conn: asyncpg.Connection, catalog: Catalog, specs: dict[SeriesDay, ValueSpec]) -> None:
    """A daily row on every day an increment value changed with no event (a bucket left the window, a rollup's
    window restarted with a hierarchy version), so the daily history equals current_values on every day."""
    if not specs:
        return
    values = await store.compute(conn, specs, catalog)
    for key, spec in specs.items():
        values.setdefault(key, compose(catalog[spec.indicator], spec, NO_DATA))
    await store.write_daily_gaps(conn, values)


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
    # nothing left (a window emptied, an event retracted): no value; the rows stay, so the change is published
    if empty_is_null:
        for key, s in specs.items():
            values.setdefault(key, compose(catalog[s.indicator], s, NO_DATA))
        await store.write_daily_gaps(conn, {k: values[k] for k in daily})
    else:
        await store.write_daily(conn, {k: values[k] for k in daily if k in values})
    return await store.write_current(conn, current.values(), values)
