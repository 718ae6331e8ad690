"""A throw-away migrated database and uniquely suffixed topics per measurement, removed afterwards."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

from shared.adapters.kafka import client_kwargs, ensure_topics, topic_specs
from shared.adapters.migrate import migrate
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.settings import Settings

TOPIC_FIELDS = ("topic_ingest", "topic_events", "topic_deadletter", "topic_rollups", "topic_alerts")


@asynccontextmanager
async def isolated(settings: Settings, catalog: Catalog, hierarchy: Hierarchy) -> AsyncIterator[Settings]:
    """Settings naming a fresh database (`dxb_…`), fresh topics (`….bench-<suffix>`) and consumer groups of their
    own (`bench-<suffix>.…`: a group shared with other runs would rebalance whenever they start or stop)."""
    suffix = uuid.uuid4().hex[:10]
    topics = {f: f"{getattr(settings, f)}.bench-{suffix}" for f in TOPIC_FIELDS}
    update = {"pg_database": f"dxb_{suffix}", "kafka_group_prefix": f"bench-{suffix}.", **topics}
    fresh = settings.model_copy(update=update)
    await _owner_execute(settings, f'CREATE DATABASE "{fresh.pg_database}" OWNER {settings.pg_owner_user}')
    try:
        await migrate(fresh, catalog, hierarchy)
        await ensure_topics(fresh, topic_specs(fresh))
        yield fresh
    finally:
        await _owner_execute(settings, f'DROP DATABASE IF EXISTS "{fresh.pg_database}" WITH (FORCE)')
        await _delete_topics(fresh)


async def _owner_execute(settings: Settings, statement: str) -> None:
    conn = await asyncpg.connect(settings.pg_dsn("owner"))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def _delete_topics(settings: Settings) -> None:
    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    await admin.start()
    try:
        with suppress(Exception):  # best effort: a leftover topic costs disk, not correctness
            await admin.delete_topics([getattr(settings, f) for f in TOPIC_FIELDS])
    finally:
        await admin.close()
