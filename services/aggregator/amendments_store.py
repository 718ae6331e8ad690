"""The SQL of corrections and retractions (services/aggregator/amend.py decides; this reads and writes)."""

from typing import TYPE_CHECKING, Any

import asyncpg

from services.aggregator import sql, store
from services.aggregator.decode import Fact
from services.aggregator.fold import exact

if TYPE_CHECKING:  # amend.py decides and calls this module
    from services.aggregator.amend import Effect


async def is_applied(conn: asyncpg.Connection, source: str, event_id: str) -> bool:
    return bool(await conn.fetchval(sql.IS_APPLIED, source, event_id))


async def original(conn: asyncpg.Connection, source: str, event_id: str) -> Any:
    """The applied event of `source` an amendment names, locked for the transaction; None if there is none."""
    return await conn.fetchrow(sql.AMENDED_EVENT, source, event_id)


async def applied_elsewhere(conn: asyncpg.Connection, event_id: str, source: str) -> bool:
    """Whether another source than `source` has an event of this id."""
    return bool(await conn.fetchval(sql.APPLIED_ELSEWHERE, event_id, source))


async def refuse(conn: asyncpg.Connection, partition: int, offset: int, fact: Fact, reason: str) -> None:
    """Record a refused (or duplicate) amendment in event_refusals."""
    await conn.execute(
        sql.REFUSE, partition, offset, fact.source, fact.event_id, fact.indicator, fact.unit, reason, fact.received_at
    )


async def accept(conn: asyncpg.Connection, partition: int, offset: int, fact: Fact) -> None:
    """Store the amendment as an event of its own and mark its original replaced by it."""
    await conn.execute(
        sql.INSERT_AMENDMENT, fact.event_id, fact.indicator, fact.unit, fact.observed_at, fact.numerator,
        fact.denominator, exact(fact.value), fact.source, fact.received_at, partition, offset, fact.period,
        fact.corrects, fact.retracts, fact.operator,
    )  # fmt: skip
    await conn.execute(sql.MARK_REPLACED, fact.source, fact.amends, fact.event_id)


async def write(conn: asyncpg.Connection, change: "Effect") -> None:
    """Buckets, snapshot days and period values of the effect (the values are recomputed by the caller)."""
    await store.add_buckets(conn, change.plan.buckets)
    if change.plan.buckets:
        await conn.execute(sql.DROP_EMPTY_BUCKETS, *store.key_columns(sorted(change.plan.buckets)))
    for (indicator, unit, day), place in change.bucket_order:  # nearest the reporting unit first
        if place == 0:
            await conn.execute(sql.BUCKET_LAST_OF_EVENTS, indicator, unit, day)
        else:
            version_from = change.plan.daily[(indicator, unit, day)].version_from
            await conn.execute(sql.BUCKET_LAST_OF_CHILDREN, indicator, unit, day, version_from)
    if change.snapshot_days:
        await conn.execute(sql.DROP_SNAPSHOT_DAYS, *store.key_columns(change.snapshot_days))
        await conn.execute(sql.RECOMPUTE_SNAPSHOT_DAYS, *store.key_columns(change.snapshot_days))
    if change.periods:
        await conn.execute(sql.DROP_PERIOD_VALUES, *store.key_columns(change.periods))
        await conn.execute(sql.RECOMPUTE_PERIOD_VALUES, *store.key_columns(change.periods))
