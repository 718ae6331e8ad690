"""The foundation against the real broker and database: topics, produce/consume, migrations, roles."""

import asyncio
import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.adapters.kafka import client_kwargs, consumer_kwargs, ensure_topics, producer_kwargs
from shared.adapters.migrate import migrate, migration_files
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.settings import Settings
from tests.support.infra import PrivateInstance


async def test_a_message_produced_with_acks_all_is_consumed_from_the_real_broker(isolated: Settings) -> None:
    producer = AIOKafkaProducer(**producer_kwargs(isolated))
    await producer.start()
    try:
        meta = await producer.send_and_wait(isolated.topic_events, b'{"x": 1}', key=b"gov.satisfaction:38")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(isolated.topic_events, **consumer_kwargs(isolated, f"t-{uuid.uuid4().hex}"))
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), timeout=30)
    finally:
        await consumer.stop()
    assert (record.value, record.key, record.partition) == (b'{"x": 1}', b"gov.satisfaction:38", meta.partition)


async def test_topics_have_their_partitions_and_cleanup_policies(isolated: Settings) -> None:
    admin = AIOKafkaAdminClient(**client_kwargs(isolated))
    await admin.start()
    try:
        described = {
            t["topic"]: t for t in await admin.describe_topics([isolated.topic_events, isolated.topic_rollups])
        }
        configs = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, isolated.topic_rollups)])
    finally:
        await admin.close()
    assert len(described[isolated.topic_events]["partitions"]) == 6
    entries = {c[0]: c[1] for c in configs[0].resources[0][4]}
    assert entries["cleanup.policy"] == "compact"
    assert await ensure_topics(isolated) == []  # idempotent


async def test_migrations_are_safe_twice_and_concurrently(
    db_settings: Settings, catalog: Catalog, hierarchy: Hierarchy
) -> None:
    results = await asyncio.gather(*(migrate(db_settings, catalog, hierarchy) for _ in range(3)))
    assert results == [[], [], []]  # the fixture already migrated; three concurrent runs find nothing to do
    conn = await asyncpg.connect(db_settings.pg_dsn("owner"))
    try:
        versions = [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations ORDER BY 1")]
        units = await conn.fetchval("SELECT count(*) FROM units WHERE level = 'commune' AND valid_to IS NULL")
        name = await conn.fetchval("SELECT full_name FROM units WHERE code = '14758' AND valid_to IS NULL")
        label = await conn.fetchval("SELECT label_vi FROM indicators WHERE code = 'soc.epayment_accounts'")
    finally:
        await conn.close()
    assert versions == [v for v, _ in migration_files()]
    assert (units, name) == (166, "Phường Hàm Rồng")
    assert label == "Tỷ lệ dân số có tài khoản thanh toán điện tử"


async def test_two_fresh_databases_migrating_at_once_both_end_complete(
    settings: Settings, catalog: Catalog, hierarchy: Hierarchy
) -> None:
    from testing.sandbox import create_database, drop_database

    created = await asyncio.gather(*(create_database(settings, catalog, hierarchy) for _ in range(2)))
    try:
        for fresh in created:
            conn = await asyncpg.connect(fresh.pg_dsn("app"))
            try:
                assert await conn.fetchval("SELECT count(*) FROM indicators") == len(catalog.indicators)
            finally:
                await conn.close()
    finally:
        for fresh in created:
            await drop_database(settings, fresh.pg_database)


async def test_the_grafana_role_can_only_read_and_the_services_cannot_change_the_schema(db_settings: Settings) -> None:
    grafana = await asyncpg.connect(db_settings.pg_dsn("grafana"))
    app = await asyncpg.connect(db_settings.pg_dsn("app"))
    try:
        assert await grafana.fetchval("SELECT count(*) FROM indicators") == 13
        with pytest.raises(asyncpg.PostgresError):
            await grafana.execute("DELETE FROM indicators")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app.execute("DROP TABLE indicators")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app.execute("ALTER TABLE indicators ADD COLUMN x int")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app.execute("CREATE TABLE sneaky (x int)")
    finally:
        await grafana.close()
        await app.close()


async def test_a_private_broker_can_be_killed_and_restarted_without_losing_acknowledged_data(
    private_kafka: PrivateInstance, settings: Settings
) -> None:
    own = settings.model_copy(update={"kafka_bootstrap": private_kafka.bootstrap})
    await ensure_topics(own)
    producer = AIOKafkaProducer(**producer_kwargs(own))
    await producer.start()
    try:
        await producer.send_and_wait(own.topic_events, b"before-kill", key=b"k")
    finally:
        await producer.stop()
    private_kafka.kill()
    private_kafka.start()
    consumer = AIOKafkaConsumer(own.topic_events, **consumer_kwargs(own, "restart-check"))
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), timeout=60)
    finally:
        await consumer.stop()
    assert record.value == b"before-kill"
