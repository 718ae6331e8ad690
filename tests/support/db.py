"""Database helpers shared by the test layers: queries under a role, and source credentials."""

from typing import Any

import asyncpg

from dx.sources import SourceAdmin, ensure_source_topic
from shared.adapters.postgres import create_pool
from shared.settings import Settings


async def fetch(settings: Settings, query: str, *args: Any, role: str = "owner") -> list[asyncpg.Record]:
    conn = await asyncpg.connect(settings.pg_dsn(role))
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def add_source(
    settings: Settings, name: str, indicators: list[str] | None = None, units: list[str] | None = None
) -> dict[str, str]:
    """Create a source; returns the Authorization header carrying its token."""
    pool = await create_pool(settings, "app", min_size=1, max_size=1)
    try:
        token = await SourceAdmin(pool).add(name, indicators, units)
    finally:
        await pool.close()
    return {"Authorization": f"Bearer {token}"}


async def add_kafka_source(
    settings: Settings, name: str, indicators: list[str] | None = None, units: list[str] | None = None
) -> str:
    """Create a source and its own ingest topic (as `dx sources add --kafka`); returns the topic."""
    await add_source(settings, name, indicators, units)
    return await ensure_source_topic(settings, name)
