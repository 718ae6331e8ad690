"""Isolation helpers: a throw-away database and uniquely named topics per test, as Settings copies."""

import asyncio
import os
import uuid
from collections.abc import Mapping

import asyncpg

from shared.adapters.kafka import ensure_topics, topic_specs
from shared.adapters.migrate import migrate
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.settings import Settings

TOPIC_FIELDS = ("topic_ingest", "topic_events", "topic_deadletter", "topic_rollups", "topic_alerts")


def settings_env(settings: Settings, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment that reproduces `settings` in a child process (DX_* variables)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DX_")}
    for name, value in settings.model_dump().items():
        if value is not None:
            env[f"DX_{name.upper()}"] = str(value)
    env.update(extra or {})
    return env


async def create_database(settings: Settings, catalog: Catalog, hierarchy: Hierarchy) -> Settings:
    """A new migrated database; returns settings pointing at it."""
    name = f"dxt_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(settings.pg_dsn("owner"))
    try:
        await conn.execute(f'CREATE DATABASE "{name}" OWNER {settings.pg_owner_user}')
    finally:
        await conn.close()
    fresh = settings.model_copy(update={"pg_database": name})
    await migrate(fresh, catalog, hierarchy)
    return fresh


async def drop_database(settings: Settings, name: str) -> None:
    """Drop it, retrying while the backends of just-stopped service processes finish exiting (the owner role
    may not terminate the services' backends, so FORCE alone is not enough)."""
    for attempt in range(50):
        conn = await asyncpg.connect(settings.pg_dsn("owner"))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except (asyncpg.InsufficientPrivilegeError, asyncpg.ObjectInUseError):
            if attempt == 49:
                raise
        finally:
            await conn.close()
        await asyncio.sleep(0.2)


async def create_topics(settings: Settings) -> Settings:
    """Uniquely suffixed copies of every topic and consumer groups of their own; returns settings naming them."""
    suffix = uuid.uuid4().hex[:8]
    update: dict[str, str] = {f: f"{getattr(settings, f)}.{suffix}" for f in TOPIC_FIELDS}
    fresh = settings.model_copy(update={**update, "kafka_group_prefix": f"t{suffix}."})
    await ensure_topics(fresh, topic_specs(fresh))
    return fresh


async def eventually(check, timeout: float = 30.0, interval: float = 0.1):
    """Retry an async `check` until it returns a truthy value (tests wait by retrying, never by sleeping)."""
    deadline = asyncio.get_running_loop().time() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            result = await check()
            if result:
                return result
        except AssertionError as err:
            last_error = err
        if asyncio.get_running_loop().time() > deadline:
            if last_error:
                raise last_error
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)
