"""The SQL of corrections and retractions (services/aggregator/amend.py decides; this reads and writes)."""

from datetime import date
from itertools import groupby
from typing import TYPE_CHECKING, Any

import asyncpg

from services.aggregator import sql, store
from services.aggregator.decode import Fact
from services.aggregator.fold import exact

if TYPE_CHECKING:  # amend.py decides and calls this module
    from services.aggregator.amend import Effect


async def applied_among(conn: asyncpg.Connection, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (source, event_id) are applied already."""
    found = await conn.fetch(sql.APPLIED_AMONG, [s for s, _ in keys], [e for _, e in keys])
    return {(r["source"], str(r["event_id"])) for r in found}


async def originals(conn: asyncpg.Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """The applied events of these (source, event_id) that amendments name, locked for the transaction (in key
    order, so that two instances lock them alike); absent when there is none."""
    found = await conn.fetch(sql.AMENDED_EVENTS, [s for s, _ in keys], [e for _, e in keys])
    return {(r["source"], str(r["event_id"])): dict(r) for r in found}


async def applied_elsewhere(conn: asyncpg.Connection, event_id: str, source: str) -> bool:
    """Whether another source than `source` has an event of this id."""
    return bool(await conn.fetchval(sql.APPLIED_ELSEWHERE, event_id, source))


async def kept_from(conn: asyncpg.Connection) -> date | None:
    """The first day of the events still kept when months were pruned (`dx events prune`), else None."""
    found: date | None = await conn.fetchval(sql.KEPT_FROM)
    return found


def row_of(partition: int, offset: int, fact: Fact) -> dict[str, Any]:
    """An accepted amendment as sql.AMENDED_EVENTS would read it once stored (it may be amended in turn)."""
    return {
        "event_id": fact.event_id, "indicator": fact.indicator, "unit": fact.unit, "observed_at": fact.observed_at,
        "numerator": fact.numerator, "denominator": fact.denominator, "value": exact(fact.value),
        "source": fact.source, "received_at": fact.received_at, "period": fact.period, "retracts": fact.retracts,
        "replaced_by": None, "kafka_partition": partition, "kafka_offset": offset,
    }  # fmt: skip


async def refuse_all(conn: asyncpg.Connection, refusals: list[tuple[int, int, Fact, str]]) -> None:
    """Record refused (or duplicate) amendments in event_refusals."""
    if refusals:
        await conn.executemany(sql.REFUSE, [
            (p, o, f.source, f.event_id, f.indicator, f.unit, reason, f.received_at) for p, o, f, reason in refusals
        ])  # fmt: skip


async def accept_all(conn: asyncpg.Connection, accepted: list[tuple[int, int, Fact]]) -> None:
    """Store the amendments as events of their own (all first: one may be the original of a later one), then
    mark each original replaced."""
    if not accepted:
        return
    await conn.executemany(sql.INSERT_AMENDMENT, [
        (f.event_id, f.indicator, f.unit, f.observed_at, f.numerator, f.denominator, exact(f.value), f.source,
         f.received_at, p, o, f.period, f.corrects, f.retracts, f.operator) for p, o, f in accepted
    ])  # fmt: skip
    await conn.executemany(sql.MARK_REPLACED, [(f.source, f.amends, f.event_id) for _, _, f in accepted])


async def write(conn: asyncpg.Connection, change: "Effect") -> None:
    """Buckets, snapshot days and period values of the effect (the values are recomputed by the caller)."""
    await store.add_buckets(conn, change.plan.buckets)
    if change.plan.buckets:
        await conn.execute(sql.DROP_EMPTY_BUCKETS, *store.key_columns(sorted(change.plan.buckets)))
    for place, group in groupby(change.bucket_order, key=lambda item: item[1]):  # nearest the reporting unit first
        keys = [key for key, _ in group]
        if place == 0:
            await conn.executemany(sql.BUCKET_LAST_OF_EVENTS, keys)
        else:
            await conn.executemany(sql.BUCKET_LAST_OF_CHILDREN, [(*k, change.plan.daily[k].version_from) for k in keys])
    if change.snapshot_days:
        await conn.execute(sql.DROP_SNAPSHOT_DAYS, *store.key_columns(change.snapshot_days))
        await conn.execute(sql.RECOMPUTE_SNAPSHOT_DAYS, *store.key_columns(change.snapshot_days))
    if change.periods:
        await conn.execute(sql.DROP_PERIOD_VALUES, *store.key_columns(change.periods))
        await conn.execute(sql.RECOMPUTE_PERIOD_VALUES, *store.key_columns(change.periods))
