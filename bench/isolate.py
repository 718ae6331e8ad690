"""A throw-away migrated database and uniquely suffixed topics per measurement, removed afterwards."""

import asyncio
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

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
        await _wait_for_leaders(fresh)
        yield fresh
    finally:
        await _drop_database(settings, fresh.pg_database)
        await _delete_topics(fresh)


async def _wait_for_leaders(settings: Settings, timeout: float = 30.0) -> None:
    """A topic just created may have no leader yet: the first sends would be retried (and timed)."""
    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    await admin.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            topics = await admin.describe_topics([getattr(settings, f) for f in TOPIC_FIELDS])
            if all(_led(t) for t in topics) and len(topics) == len(TOPIC_FIELDS):
                return
            await asyncio.sleep(0.1)
        raise TimeoutError("the benchmark's topics have no leader yet")
    finally:
        await admin.close()


def _led(topic: dict[str, Any]) -> bool:
    parts = topic.get("partitions") or []
    led = all(p["error_code"] == 0 and p["leader"] >= 0 for p in parts)
    return topic.get("error_code") == 0 and bool(parts) and led


async def _drop_database(settings: Settings, name: str) -> None:
    """Drop it, retrying while the backends of just-stopped service processes finish exiting."""
    for attempt in range(50):
        try:
            await _owner_execute(settings, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except asyncpg.PostgresError as err:
            if attempt == 49:
                print(f"# warning: database {name} not dropped: {err}", file=sys.stderr)
            await asyncio.sleep(0.2)


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
