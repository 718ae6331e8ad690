"""Offsets stored with the data: keyed by the full consumer group id (with DX_KAFKA_GROUP_PREFIX), and a stored
offset below the partition's log start (events deleted before being applied) stops that partition with an error
and `dx_aggregator_partition_stopped` = 1 instead of silently skipping to the earliest event left; the other
partitions go on."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.records_to_delete import RecordsToDelete
from aiokafka.partitioner import DefaultPartitioner

from shared import names
from shared.adapters.kafka import client_kwargs, group_id
from shared.settings import Settings
from tests.reliability.support import (
    COMMUNES,
    INDICATOR,
    add_source,
    aggregator,
    applied_count,
    base_url,
    collector,
    fetch,
    metrics_url,
    scrape,
    stored_offsets,
)
from tests.support.env import eventually

pytestmark = pytest.mark.e2e
PARTITIONS = 6  # of the events topic (shared/adapters/kafka.py)


def _partition(unit: str) -> int:
    key = f"{INDICATOR}:{unit}".encode()
    return int(DefaultPartitioner()(key, list(range(PARTITIONS)), list(range(PARTITIONS))))


def _events(unit: str, n: int) -> list[dict[str, object]]:
    at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    return [
        {"event_id": str(uuid.uuid4()), "indicator": INDICATOR, "unit": unit, "observed_at": at, "numerator": 1,
         "denominator": 1}
        for _ in range(n)
    ]  # fmt: skip


async def test_an_offset_below_the_log_start_stops_the_partition_and_offsets_use_the_full_group_id(
    isolated: Settings,
) -> None:
    assert isolated.kafka_group_prefix  # the test topics come with a group prefix of their own
    unit = COMMUNES[0]
    gapped = _partition(unit)
    other = next(u for u in COMMUNES if _partition(u) != gapped)
    auth = await add_source(isolated, "gap")
    coll = collector(isolated).start()
    group = f"agg-gap-{uuid.uuid4().hex[:8]}"
    try:
        async with httpx.AsyncClient(base_url=base_url(coll), headers=auth, timeout=30) as client:
            for body in (_events(unit, 10),):
                assert (await client.post("/v1/events", content=orjson.dumps(body))).status_code == 202
            agg = aggregator(isolated, group).start()
            try:
                await eventually(lambda: _applied(isolated, 10), timeout=60)
                await eventually(lambda: _stored(isolated, group, {gapped: 10}), timeout=30)
            finally:
                agg.stop()
            rows = await fetch(isolated, "SELECT DISTINCT consumer_group FROM consumer_offsets")
            assert [r["consumer_group"] for r in rows] == [group_id(isolated, group)]

            assert (await client.post("/v1/events", content=orjson.dumps(_events(unit, 10)))).status_code == 202
            await _delete_records(isolated, gapped, before=15)  # offsets 10..14 gone, never applied
            agg = aggregator(isolated, group).start()
            try:
                response = await client.post("/v1/events", content=orjson.dumps(_events(other, 3)))
                assert response.status_code == 202, response.text
                await eventually(lambda: _applied(isolated, 13), timeout=60)  # the other partition goes on

                async def stopped() -> bool:
                    return await scrape(metrics_url(agg), names.M_PARTITION_STOPPED) == 1

                await eventually(stopped, timeout=30)
                assert f"partition {gapped} of {isolated.topic_events} NOT consumed" in agg.log_tail(20_000)
                assert "stored offset 10 is below the log start 15" in agg.log_tail(20_000)
                assert await applied_count(isolated) == 13  # nothing of 15..19 applied: the gap is not skipped
                assert (await stored_offsets(isolated, group))[gapped] == 10
            finally:
                agg.stop()
    finally:
        coll.stop()


async def _applied(settings: Settings, n: int) -> bool:
    return await applied_count(settings) == n


async def _stored(settings: Settings, group: str, expected: dict[int, int]) -> bool:
    return await stored_offsets(settings, group) == expected


async def _delete_records(settings: Settings, partition: int, before: int) -> None:
    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    await admin.start()
    try:
        await admin.delete_records({TopicPartition(settings.topic_events, partition): RecordsToDelete(before)})
    finally:
        await admin.close()
