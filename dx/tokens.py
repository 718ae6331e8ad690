"""Tokens for the tools: an operator's `--token`, or a source created for the tool (collector's `PgSources`)."""

from datetime import UTC, datetime

from services.collector.sources import PgSources
from shared.adapters.postgres import create_pool
from shared.settings import Settings


async def create_source_token(settings: Settings, name: str) -> tuple[str, str]:
    """(source name, token) of a new unrestricted source; `name-<UTC time>` if `name` already has a token."""
    pool = await create_pool(settings, "app", max_size=1)
    try:
        sources = PgSources(pool)
        try:
            return name, await sources.add(name, None, None)
        except ValueError:
            unique = f"{name}-{datetime.now(UTC):%Y%m%d%H%M%S}"
            return unique, await sources.add(unique, None, None)
    finally:
        await pool.close()


async def obtain_token(settings: Settings, token: str | None, name: str) -> tuple[str | None, str]:
    """(created source name or None, token): the given token, else one of a new source called `name`."""
    if token:
        return None, token
    return await create_source_token(settings, name)
