"""Helpers for the collector's integration tests: an in-process app, tokens, reading a topic."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from dx.sources import SourceAdmin
from services.collector.main import create_app
from services.collector.settings import CollectorSettings
from shared.adapters.kafka import client_kwargs, topic_specs
from shared.adapters.postgres import create_pool
from shared.settings import Settings
from tests.support.db import add_source as add_source  # re-exported for the tests of this layer
from tests.support.env import eventually
from tests.support.events import ratio_event as ratio_event  # re-exported for the collector tests


def collector_settings(base: Settings, **over: Any) -> CollectorSettings:
    return CollectorSettings.model_validate({**base.model_dump(), **over})


@asynccontextmanager
async def running_app(settings: CollectorSettings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running, and an httpx client talking to it in-process."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://collector", timeout=60) as client:
            yield client


async def revoke_source(settings: Settings, name: str) -> None:
    pool = await create_pool(settings, "app", min_size=1, max_size=1)
    try:
        assert await SourceAdmin(pool).revoke(name)
    finally:
        await pool.close()


async def read_topic(
    settings: Settings, topic: str, until: Callable[[list[ConsumerRecord]], bool], timeout: float = 30.0
) -> list[ConsumerRecord]:
    """The records of `topic` (all partitions, from the beginning), once `until(records)` holds."""
    consumer = AIOKafkaConsumer(
        topic, **client_kwargs(settings), group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        records: list[ConsumerRecord] = []

        async def enough() -> bool:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
            return until(records)

        await eventually(enough, timeout=timeout)
        return records
    finally:
        await consumer.stop()


def with_ids(event_ids: set[str]) -> Callable[[list[ConsumerRecord]], bool]:
    """`until` for read_topic: every one of these event_ids has arrived."""
    return lambda records: event_ids <= {orjson.loads(r.value).get("event_id") for r in records}


def only(records: list[ConsumerRecord], event_ids: set[str]) -> list[ConsumerRecord]:
    return [r for r in records if orjson.loads(r.value).get("event_id") in event_ids]


async def committed_event_ids(settings: Settings) -> set[str]:
    """Every event_id on the events topic as a read_committed consumer sees it, read to the end of each partition."""
    consumer = AIOKafkaConsumer(
        **client_kwargs(settings), group_id=None, isolation_level="read_committed", enable_auto_commit=False
    )
    await consumer.start()
    try:
        count = next(t.partitions for t in topic_specs(settings) if t.name == settings.topic_events)
        parts = [TopicPartition(settings.topic_events, p) for p in range(count)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)  # the last stable offsets: nothing in doubt below them
        seen: set[str] = set()
        while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                seen.update(orjson.loads(r.value)["event_id"] for r in records if r.value)
        return seen
    finally:
        await consumer.stop()
