"""One request acknowledged on some partitions and refused on another is answered 503 and none of its events is
ever visible to a read_committed reader; the next request is accepted. The broker refuses for real: the events
topic's `max.message.bytes` admits a batch of one event but not the batch of twenty that share a partition."""

from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from services.collector.settings import CollectorSettings
from shared.adapters.kafka import client_kwargs
from shared.domain.catalog import load_catalog
from shared.domain.hierarchy import load_hierarchy
from shared.settings import Settings
from testing.sandbox import create_database, create_topics, delete_topics, drop_database
from tests.integration.collector.support import (
    add_source,
    collector_settings,
    committed_event_ids,
    ratio_event,
    running_app,
)
from tests.support.env import eventually

SINGLES = ["14758", "14761", "14764", "14767", "14770", "14773"]  # one event each: on other partitions too


@pytest.fixture
async def small_batches() -> AsyncIterator[CollectorSettings]:
    base = Settings()
    db = await create_database(base, load_catalog(), load_hierarchy())
    settings = collector_settings(await create_topics(db), collector_ingest_enabled=False)
    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    await admin.start()
    try:
        resource = ConfigResource(ConfigResourceType.TOPIC, settings.topic_events, {"max.message.bytes": "1500"})
        await admin.alter_configs([resource])
        await eventually(lambda: _limit_in_force(admin, settings.topic_events))  # the broker applies it later
    finally:
        await admin.close()
    try:
        yield settings
    finally:
        await delete_topics(settings)
        await drop_database(base, db.pg_database)


async def _limit_in_force(admin: AIOKafkaAdminClient, topic: str) -> bool:
    """The broker answers DescribeConfigs from the metadata it has applied; a CI run once sent before it had."""
    responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    configs = {c[0]: c[1] for response in responses for r in response.resources for c in r[4]}
    return configs.get("max.message.bytes") == "1500"


async def test_a_request_refused_on_one_partition_is_visible_on_none(small_batches: CollectorSettings) -> None:
    settings = small_batches
    auth = await add_source(settings, "partial")
    crowded = [ratio_event(unit="14755", numerator=n) for n in range(20)]  # one key: one batch of ~6 KB
    singles = [ratio_event(unit=u) for u in SINGLES]
    async with running_app(settings) as client:
        refused = await client.post("/v1/events", json=crowded + singles, headers=auth)
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"] == "kafka_unavailable"
        later = [ratio_event(unit=u, numerator=1) for u in SINGLES]
        accepted = await client.post("/v1/events", json=later, headers=auth)  # the publisher recovered
        assert accepted.status_code == 202, accepted.text
    visible = await committed_event_ids(settings)
    assert {e["event_id"] for e in later} <= visible
    assert not visible & {e["event_id"] for e in crowded + singles}, "part of a refused request became visible"
