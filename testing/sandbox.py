"""Throw-away resources for tests and benchmarks: a migrated database, uniquely named topics and consumer groups.

Everything a sandbox creates carries one random suffix, so concurrent test runs and benchmark phases never see
each other's data, topics or consumer-group rebalances.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

from shared.adapters.kafka import client_kwargs, ensure_topics, topic_specs
from shared.adapters.migrate import migrate
from shared.contracts.topics import source_of_topic
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.settings import Settings

TOPIC_FIELDS = ("topic_ingest", "topic_events", "topic_deadletter", "topic_rollups", "topic_alerts")


async def owner_execute(settings: Settings, statement: str) -> None:
    conn = await asyncpg.connect(settings.pg_dsn("owner"))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def create_database(settings: Settings, catalog: Catalog, hierarchy: Hierarchy, prefix: str = "dxt") -> Settings:
    """A new migrated database; returns settings pointing at it."""
    fresh = settings.model_copy(update={"pg_database": f"{prefix}_{uuid.uuid4().hex[:12]}"})
    await owner_execute(settings, f'CREATE DATABASE "{fresh.pg_database}" OWNER {settings.pg_owner_user}')
    await migrate(fresh, catalog, hierarchy)
    return fresh


async def drop_database(settings: Settings, name: str, attempts: int = 50) -> None:
    """Drop it, retrying while the backends of just-stopped service processes finish exiting (the owner role
    may not terminate the services' backends, so FORCE alone is not enough)."""
    for attempt in range(attempts):
        try:
            await owner_execute(settings, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except (asyncpg.InsufficientPrivilegeError, asyncpg.ObjectInUseError):
            if attempt == attempts - 1:
                raise
        await asyncio.sleep(0.2)


async def create_topics(settings: Settings, label: str = "") -> Settings:
    """Uniquely suffixed copies of every topic and consumer groups of their own, with leaders elected."""
    suffix = f"{label}{uuid.uuid4().hex[:8]}"
    # `-`, not `.`: `dx.ingest.v1.<x>` is the ingest topic of source x (shared/contracts/topics.py)
    update: dict[str, str] = {f: f"{getattr(settings, f)}-{suffix}" for f in TOPIC_FIELDS}
    fresh = settings.model_copy(update={**update, "kafka_group_prefix": f"t{suffix}."})
    await ensure_topics(fresh, topic_specs(fresh))  # returns once every new topic has its leaders
    return fresh


async def delete_topics(settings: Settings) -> None:
    """Best effort: a leftover topic costs disk, not correctness."""
    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    await admin.start()
    try:
        with suppress(Exception):
            await admin.delete_topics([getattr(settings, f) for f in TOPIC_FIELDS])
        with suppress(Exception):  # the sources' own ingest topics
            await admin.delete_topics(
                [t for t in await admin.list_topics() if source_of_topic(settings.topic_ingest, t)]
            )
    finally:
        await admin.close()


@asynccontextmanager
async def sandbox(
    settings: Settings, catalog: Catalog, hierarchy: Hierarchy, db_prefix: str = "dxt", label: str = ""
) -> AsyncIterator[Settings]:
    """Settings naming a fresh database, fresh topics and consumer groups; all removed afterwards."""
    with_db = await create_database(settings, catalog, hierarchy, db_prefix)
    try:
        fresh = await create_topics(with_db, label)
        try:
            yield fresh
        finally:
            await delete_topics(fresh)
    finally:
        await drop_database(settings, with_db.pg_database)
