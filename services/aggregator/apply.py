"""Apply batches of events in one PostgreSQL transaction, together with the consumer offsets they reach."""

from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg

from services.aggregator import amend, amendments_store, store
from services.aggregator.decode import Fact
from services.aggregator.fold import Plan, Planner, SeriesDay, late_specs, merge_plan, plan, spec_as_of_today
from services.aggregator.prepare import Prepared, add_period, latest_periods
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
    worked out before the transaction so that they overlap the previous one."""

    prepared: Prepared
    todo: Plan
    now: datetime
    today: date


def stage(prepared: Prepared, now: datetime, planner: Planner, today: date) -> Staged:
    return Staged(prepared, planner(prepared.series, today), now, today)


Refuse = Callable[[list[amend.Refusal]], Awaitable[None]]
BeforeInsert = Callable[[asyncpg.Connection], Awaitable[None]]  # runs once the batch is staged, before its insert


class Transaction:
    """One PostgreSQL transaction that applies one or more batches, all or nothing.

    `add` inserts a batch's new events (COPY, then one INSERT … ON CONFLICT DO NOTHING) and merges its plan into the
    transaction's; `commit` folds the merged plan once (buckets, snapshot days, period values, every daily and
    current value it touches), applies the amendments, stores the offsets and commits. While a backlog waits, the
    consumer adds several batches before committing, so the rollup work, which grows with the series a batch
    touches and not with its events, is done once for all of them (bench/README.md). The amendments of every batch
    are judged at the commit, once the events' buckets and snapshot days are written, in offset order: an original
    stored at a later offset of the same partition (it follows its amendment in the log) counts as not applied yet
    (amend.judge), so a transaction of several batches judges as its batches would one by one. The values the
    events and the amendments touched are then recomputed together, once."""

    def __init__(
        self, pool: asyncpg.Pool, catalog: Catalog, hierarchy: Hierarchy, months: store.EventMonths | None = None
    ) -> None:
        self.pool, self.catalog, self.hierarchy = pool, catalog, hierarchy
        self.months = store.EventMonths() if months is None else months  # the service keeps one for its pool
        self.conn: asyncpg.Connection | None = None
        self.tx: Any = None
        self.todo = Plan()
        self.periods: dict[tuple[str, str, str], Fact] = {}
        self.amendments: list[tuple[int, int, Fact]] = []
        self.ids: list[Iterable[int]] = []  # each batch's prepare.id_key values
        self.result = Applied()
        self.batches = 0
        self.today: date | None = None

    @property
    def series_days(self) -> int:
        """The (indicator, unit, day) values the commit will recompute so far (before the later days it reaches)."""
        return len(self.todo.daily)

    def amendment_keys(self) -> list[tuple[str, str]]:
        """(source, event_id) of the corrections and retractions added so far."""
        return [(fact.source, fact.event_id) for _, _, fact in self.amendments]

    def shares_ids(self, ids: Iterable[int]) -> bool:
        """Whether any of these prepare.id_key values is one of the events added so far."""
        mine = set(ids)
        return bool(mine) and any(not mine.isdisjoint(batch) for batch in self.ids)

    async def add(self, batch: Staged, before_insert: BeforeInsert | None = None) -> None:
        prepared, result = batch.prepared, self.result
        await self.months.ensure(self.pool, [*prepared.received, *(f.received_at for _, _, f in prepared.amendments)])
        conn = await self._open()
        self.batches += 1
        self.today = batch.today
        if prepared.rows:
            if self.batches > 1:
                await store.clear_stage(conn)  # the previous batch's rows
            try:
                new = await store.insert_new_events(conn, prepared.copy, prepared.rows, before_insert,
                                                    self.months.kept_from_us())  # fmt: skip
            except asyncpg.CheckViolationError:  # "no partition of relation found for row": pruned since
                self.months.forget()
                raise
            if new is None:
                applied, received, todo, periods = prepared.rows, prepared.received, batch.todo, prepared.periods
            else:  # some were applied before: the plan of the events the insert kept
                applied, received = len(new), dict(Counter(f.received_at for f in new))
                todo = plan(new, self.catalog, self.hierarchy, batch.today)
                periods = latest_periods(new)
            result.applied += applied
            result.duplicates += prepared.rows - applied
            for received_at, events in received.items():
                result.received[received_at] = result.received.get(received_at, 0) + events
            if self.batches == 1:  # the usual transaction of one batch: its plan as it is
                self.todo, self.periods = todo, dict(periods)
            else:
                merge_plan(self.todo, todo)
                for fact in periods.values():
                    add_period(self.periods, fact)
        self.amendments += prepared.amendments
        self.ids.append(prepared.ids)

    async def commit(self, offsets: Offsets, refuse: Refuse | None = None) -> Applied:
        """Fold, amend, store `offsets` and commit; `refuse` dead-letters the refused amendments first."""
        conn = await self._open()
        todo, catalog, hierarchy, result = self.todo, self.catalog, self.hierarchy, self.result
        try:
            daily: dict[SeriesDay, ValueSpec] = {}
            current: dict[tuple[str, str], ValueSpec] = {}
            if result.applied:
                await store.add_buckets(conn, todo.buckets)
                await store.add_snapshot_days(conn, todo.snapshots)
                await store.add_period_values(conn, self.periods)
                later = late_specs(await store.later_rows(conn, todo.late), catalog, hierarchy)
                daily, current = {**later, **todo.daily}, dict(todo.current)
            emptied: set[SeriesDay] = set()
            if self.amendments:
                assert self.today is not None
                amended = await _amend(conn, catalog, hierarchy, self.today, self.amendments, result, refuse)
                daily.update(amended.daily)
                current.update(amended.current)
                emptied = amended.keys()
            if daily or current:  # the events' values and the amendments' in one fold (one read of each chain)
                result.changed = await _recompute(conn, catalog, daily, current, emptied)
            await store.save_offsets(conn, offsets)
            await self.tx.commit()
        except BaseException:
            await self.rollback()
            raise
        await self._release()
        return result

    async def rollback(self) -> None:
        if self.tx is not None:
            try:
                await self.tx.rollback()
            finally:
                await self._release()

    async def _open(self) -> asyncpg.Connection:
        if self.conn is None:
            self.conn = await self.pool.acquire()
            try:
                self.tx = self.conn.transaction()
                await self.tx.start()
                await store.prepare(self.conn)
            except BaseException:
                await self._release()
                raise
        return self.conn

    async def _release(self) -> None:
        conn, self.conn, self.tx = self.conn, None, None
        if conn is not None:
            await self.pool.release(conn)


async def apply_batch(
    pool: asyncpg.Pool, catalog: Catalog, hierarchy: Hierarchy, batch: Staged, offsets: Offsets,
    refuse: Refuse | None = None,
) -> Applied:  # fmt: skip
    """Insert the new events, fold them into buckets and values, apply the corrections and retractions, and store
    the offsets: all or nothing, in one transaction. `refuse` dead-letters the refused amendments before the
    offsets are stored."""
    tx = Transaction(pool, catalog, hierarchy)
    try:
        await tx.add(batch)
    except BaseException:
        await tx.rollback()
        raise
    return await tx.commit(offsets, refuse)


@dataclass(frozen=True)
class Amended:
    """The values accepted amendments touched, to recompute with the transaction's own; an emptied one is NULL."""

    daily: dict[SeriesDay, ValueSpec]
    current: dict[tuple[str, str], ValueSpec]

    def keys(self) -> set[SeriesDay]:
        return {*self.daily, *((s.indicator, s.unit, s.day) for s in self.current.values())}


async def _amend(
    conn: asyncpg.Connection, catalog: Catalog, hierarchy: Hierarchy, today: date,
    amendments: list[tuple[int, int, Fact]], result: Applied, refuse: Refuse | None,
) -> Amended:  # fmt: skip
    """Judge the amendments and write their buckets, snapshot days and period values; the values on their chains
    are recomputed by the caller, in the same fold as the events' (before, they were a second fold after the first:
    the province's current values twice per transaction, ~10 % of a backlog's commit time, bench/README.md)."""
    judged = await amend.judge(conn, amendments)
    change = amend.effect(judged, catalog, hierarchy, today)
    await amendments_store.write(conn, change)
    later = late_specs(await store.later_rows(conn, change.plan.late), catalog, hierarchy)
    result.applied += judged.applied
    result.duplicates += judged.duplicates
    for _, _, fact in amendments:
        result.received[fact.received_at] = result.received.get(fact.received_at, 0) + 1
    if judged.refused:
        if refuse is None:
            raise RuntimeError("refused amendments and no dead-letter publisher")
        await refuse(judged.refused)
    return Amended({**later, **change.plan.daily}, change.plan.current)


async def refresh_increments(
    pool: asyncpg.Pool, catalog: Catalog, hierarchy: Hierarchy, today: date
) -> list[asyncpg.Record]:
    """Re-evaluate current increment values as days leave the trailing window (an emptied window is NULL: no data);
    returns the changed rows."""
    codes = [i.code for i in catalog.indicators if i.semantics is Semantics.INCREMENT]
    async with pool.acquire() as conn, conn.transaction():
        current = {}
        for indicator, unit in await store.increment_series(conn, codes):
            spec = spec_as_of_today(catalog, hierarchy, indicator, unit, today)
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
        return await _recompute(conn, catalog, {}, current)


async def _write_change_days(conn: asyncpg.Connection, catalog: Catalog, specs: dict[SeriesDay, ValueSpec]) -> None:
    """A daily row on every day an increment value changed with no event (a bucket left the window, a rollup's
    window restarted with a hierarchy version), so the daily history equals current_values on every day."""
    if not specs:
        return
    values = await store.compute(conn, specs, catalog)
    for key, spec in specs.items():
        values.setdefault(key, compose(catalog[spec.indicator], spec, NO_DATA))
    await store.write_daily(conn, values, emptied=None)


async def _recompute(
    conn: asyncpg.Connection,
    catalog: Catalog,
    daily: dict[tuple[str, str, date], ValueSpec],
    current: dict[tuple[str, str], ValueSpec],
    emptied: Collection[SeriesDay] | None = None,
) -> list[asyncpg.Record]:
    """Compute and write the daily and current values; those of `emptied` keys (None: every key) are written even
    when nothing is left (a window emptied, an event retracted): NULL, no data; the rows stay, so the change is
    published. The others keep whatever row they have when there is no value."""
    specs = dict(daily)
    specs.update({(s.indicator, s.unit, s.day): s for s in current.values()})
    await store.lock_series(conn, [(s.indicator, s.unit) for s in specs.values() if not s.is_leaf])
    values = await store.compute(conn, specs, catalog)
    for key in specs if emptied is None else emptied:
        if key in specs:
            values.setdefault(key, compose(catalog[specs[key].indicator], specs[key], NO_DATA))
    await store.write_daily(conn, {k: values[k] for k in daily if k in values}, emptied=emptied)
    return await store.write_current(conn, current.values(), values)
