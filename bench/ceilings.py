"""The reference points: a bare producer (producer ceiling), a bare getmany → COPY → one upsert loop (aggregator
ceiling) and one event per transaction (naive). No validation, no framework: what the hardware allows."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.adapters.kafka import consumer_kwargs, producer_kwargs
from shared.settings import Settings

COLUMNS = ["event_id", "indicator", "unit", "observed_at", "numerator", "denominator", "value", "source", "received_at"]
Row = tuple[Any, ...]


async def produce(settings: Settings, topic: str, messages: Sequence[tuple[bytes, bytes]]) -> float:
    """Send every message (acks=all, idempotent, the services' settings) and wait for every ack; returns seconds."""
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    await producer.start()
    try:
        started = time.perf_counter()
        futures = [await producer.send(topic, value, key=key) for key, value in messages]
        await asyncio.gather(*futures)
        return time.perf_counter() - started
    finally:
        await producer.stop()


def ddl(prefix: str) -> str:
    return f"""
CREATE TABLE {prefix}_events (event_id uuid PRIMARY KEY, indicator text, unit text, observed_at timestamptz,
    numerator bigint, denominator bigint, value numeric, source text, received_at timestamptz);
CREATE TABLE {prefix}_sums (indicator text, unit text, numerator numeric, denominator numeric, value numeric,
    events bigint, PRIMARY KEY (indicator, unit));
"""


CEILING_STAGE = "CREATE TEMP TABLE ceiling_stage (LIKE ceiling_events) ON COMMIT DELETE ROWS"
# New events only (idempotent), folded into per-series sums, in one statement; keys sorted (no deadlocks).
CEILING_UPSERT = """
WITH new AS (
    INSERT INTO ceiling_events SELECT DISTINCT ON (event_id) * FROM ceiling_stage ORDER BY event_id
    ON CONFLICT (event_id) DO NOTHING RETURNING indicator, unit, numerator, denominator, value)
INSERT INTO ceiling_sums
SELECT indicator, unit, sum(coalesce(numerator, 0)), sum(coalesce(denominator, 0)), sum(coalesce(value, 0)), count(*)
FROM new GROUP BY 1, 2 ORDER BY 1, 2
ON CONFLICT (indicator, unit) DO UPDATE SET numerator = ceiling_sums.numerator + EXCLUDED.numerator,
    denominator = ceiling_sums.denominator + EXCLUDED.denominator, value = ceiling_sums.value + EXCLUDED.value,
    events = ceiling_sums.events + EXCLUDED.events
"""
NAIVE_INSERT = """
INSERT INTO naive_events VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (event_id) DO NOTHING RETURNING true
"""
NAIVE_UPSERT = """
INSERT INTO naive_sums VALUES ($1, $2, coalesce($3, 0), coalesce($4, 0), coalesce($5, 0), 1)
ON CONFLICT (indicator, unit) DO UPDATE SET numerator = naive_sums.numerator + EXCLUDED.numerator,
    denominator = naive_sums.denominator + EXCLUDED.denominator, value = naive_sums.value + EXCLUDED.value,
    events = naive_sums.events + 1
"""


def row(value: bytes) -> Row:
    e = orjson.loads(value)
    return (
        e["event_id"], e["indicator"], e["unit"], datetime.fromisoformat(e["observed_at"]), e.get("numerator"),
        e.get("denominator"), e.get("value"), e["source"], datetime.fromisoformat(e["received_at"]),
    )  # fmt: skip


Handler = Callable[[list[Row]], Awaitable[None]]


async def consume(settings: Settings, topic: str, group: str, count: int, handle: Handler) -> float:
    """Read `count` messages in getmany batches, `handle` each batch; returns the seconds from first to last."""
    consumer = AIOKafkaConsumer(topic, **consumer_kwargs(settings, group), max_poll_records=5000)
    await consumer.start()
    try:
        done, started = 0, 0.0
        while done < count:
            batches = await consumer.getmany(timeout_ms=200, max_records=5000)
            rows = [row(r.value) for records in batches.values() for r in records][: count - done]
            if rows:
                started = started or time.perf_counter()
                await handle(rows)
                done += len(rows)
        return time.perf_counter() - started
    finally:
        await consumer.stop()


async def aggregator_ceiling(settings: Settings, topic: str, count: int) -> float:
    conn = await asyncpg.connect(settings.pg_dsn("owner"))
    try:
        await conn.execute(ddl("ceiling"))
        await conn.execute(CEILING_STAGE)

        async def handle(rows: list[Row]) -> None:
            async with conn.transaction():
                await conn.copy_records_to_table("ceiling_stage", records=rows, columns=COLUMNS)
                await conn.execute(CEILING_UPSERT)

        return await consume(settings, topic, "bench-ceiling", count, handle)
    finally:
        await conn.close()


async def naive(settings: Settings, topic: str, count: int) -> float:
    conn = await asyncpg.connect(settings.pg_dsn("owner"))
    try:
        await conn.execute(ddl("naive"))

        async def handle(rows: list[Row]) -> None:
            for r in rows:
                async with conn.transaction():
                    if await conn.fetchval(NAIVE_INSERT, *r):
                        await conn.execute(NAIVE_UPSERT, r[1], r[2], r[4], r[5], r[6])

        return await consume(settings, topic, "bench-naive", count, handle)
    finally:
        await conn.close()
