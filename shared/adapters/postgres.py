"""PostgreSQL access: pools for the roles (Settings.pg_dsn). Connections are opened by callers, never at import."""

from typing import Any

import asyncpg

from shared.settings import Settings


async def create_pool(
    settings: Settings, role: str = "app", min_size: int = 1, max_size: int | None = None, **kwargs: Any
) -> asyncpg.Pool:
    """A pool for `role` (Settings.pg_dsn); callers close it."""
    pool = await asyncpg.create_pool(
        settings.pg_dsn(role), min_size=min_size, max_size=max_size or settings.pg_pool_max, **kwargs
    )
    assert pool is not None
    return pool


async def connect(settings: Settings, role: str = "app") -> asyncpg.Connection:
    return await asyncpg.connect(settings.pg_dsn(role))
