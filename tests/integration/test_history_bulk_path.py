"""The benchmark's bulk path for years of history (bench/bulk.py) leaves exactly the tables the pipeline leaves: a
sample of the simulator's history across the 2025-07-01 reform goes once through Kafka (shuffled, six partitions)
and the aggregator service's consume loop, once through the bulk path into another database; every table the
aggregator writes is compared row by row (all columns but the moments of writing and the Kafka coordinates)."""

import random
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import asyncpg
import pytest

from bench.alerting import history_messages
from bench.bulk import bulk_apply, settle_increments
from shared.adapters.postgres import create_pool
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.domain.timeutil import LOCAL_TZ
from shared.settings import Settings
from testing.sandbox import create_database, drop_database
from tests.integration.test_aggregator_harness import all_applied, running, send
from tests.support.env import eventually

START, UNTIL = date(2025, 6, 27), datetime(2025, 7, 3, 17, tzinfo=LOCAL_TZ)
TABLES = {  # table: its columns that do not depend on how or when the events arrived
    "applied_events": "event_id, indicator, unit, observed_at, numerator, denominator, value, source, received_at",
    "agg_buckets": "indicator, unit, day, numerator, denominator, events, last_observed_at",
    "agg_snapshot_days": "indicator, unit, day, observed_at, event_id, numerator, denominator, value",
    "period_values": "indicator, unit, period, observed_at, event_id, value, numerator, denominator",
    "daily_values": "indicator, unit, day, value, numerator, denominator, coverage",
    "current_values": "indicator, unit, level, numerator, denominator, value, reporting_children, children_in_force, "
    "coverage, last_observed_at, carried_from, reporting_carried",
}


async def dump(settings: Settings) -> dict[str, list[tuple[object, ...]]]:
    conn = await asyncpg.connect(settings.pg_dsn("app"))
    try:
        return {t: [tuple(r) for r in await conn.fetch(f"SELECT {c} FROM {t} ORDER BY {c}")] for t, c in TABLES.items()}
    finally:
        await conn.close()


@pytest.fixture
async def other_db(settings: Settings, catalog: Catalog, hierarchy: Hierarchy) -> AsyncIterator[Settings]:
    fresh = await create_database(settings, catalog, hierarchy)
    yield fresh
    await drop_database(settings, fresh.pg_database)


async def test_bulk_path_leaves_the_tables_the_pipeline_leaves(
    isolated: Settings, other_db: Settings, catalog: Catalog, hierarchy: Hierarchy
) -> None:
    messages = history_messages(catalog, hierarchy, START, datetime.now(UTC), UNTIL)
    assert len(messages) > 500
    shuffled = random.Random(5).sample(messages, len(messages))  # partitions interleave days in any order
    async with running(isolated, aggregator_max_records=500):
        await send(isolated, [], raw=list(shuffled))
        await eventually(lambda: all_applied(isolated, len(messages)), timeout=240)
    pool = await create_pool(isolated, "app", max_size=2)
    try:
        await settle_increments(pool, catalog, hierarchy)  # what the service's periodic refresh does in time
    finally:
        await pool.close()

    await bulk_apply(other_db.model_copy(update={"topic_events": isolated.topic_events}), catalog, hierarchy, messages)

    piped, bulk = await dump(isolated), await dump(other_db)
    assert {t: len(rows) for t, rows in piped.items()} == {t: len(rows) for t, rows in bulk.items()}
    assert len(piped["daily_values"]) > 100 and len(piped["current_values"]) > 100
    for table in TABLES:
        assert piped[table] == bulk[table], f"{table} differs"
