"""Source administration (`dx sources`, and the sources the tools create): the `sources` table's writes.

The collector only reads that table (services/collector/sources.py `PgSources`, on its request path); creating,
listing and revoking sources is this repository's job. The token format and the row mapping are the collector's.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import asyncpg

from services.collector.sources import COLUMNS, NAME_PATTERN, Source, new_token, row_to_source
from shared.adapters.kafka import ensure_topics, source_topic_spec
from shared.adapters.postgres import create_pool
from shared.settings import Settings


class SourceAdmin:
    """Create (or re-issue), list and revoke sources."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def all(self) -> list[Source]:
        rows = await self.pool.fetch(f"SELECT {COLUMNS} FROM sources ORDER BY name")
        return [s for s in map(row_to_source, rows) if s is not None]

    async def add(
        self, name: str, indicators: list[str] | None, units: list[str] | None, lease: timedelta | None = None
    ) -> str:
        """Create `name` (or re-issue a revoked or expired one: a tool run's source keeps its name, so the event ids it
        derives stay the same) and return its new token; ValueError if it is active. With a
        `lease`, the source expires that long after now (the database's clock) unless renewed."""
        if not NAME_PATTERN.fullmatch(name):
            raise ValueError(f"invalid source name {name!r}: lower-case letters, digits, '.', '_', '-' (≤ 64)")
        token, token_id, token_hash = new_token()
        row = await self.pool.fetchrow(
            "INSERT INTO sources (name, token_id, token_hash, indicators, units, expires_at) "
            "VALUES ($1, $2, $3, $4, $5, now() + $6::interval) "
            "ON CONFLICT (name) DO UPDATE SET token_id = EXCLUDED.token_id, token_hash = EXCLUDED.token_hash, "
            "indicators = EXCLUDED.indicators, units = EXCLUDED.units, created_at = now(), revoked_at = NULL, "
            "expires_at = EXCLUDED.expires_at WHERE sources.revoked_at IS NOT NULL OR sources.expires_at < now() "
            "RETURNING name",
            name,
            token_id,
            token_hash,
            indicators,
            units,
            lease,
        )
        if row is None:
            raise ValueError(f"source {name!r} already has an active token: revoke it first")
        return token

    async def add_unique(
        self, name: str, indicators: list[str] | None = None, units: list[str] | None = None,
        lease: timedelta | None = None,
    ) -> tuple[str, str]:  # fmt: skip
        """(source name, token) of a new source; `name-<UTC time>` if `name` already has a token."""
        try:
            return name, await self.add(name, indicators, units, lease)
        except ValueError:
            unique = f"{name}-{datetime.now(UTC):%Y%m%d%H%M%S%f}"
            return unique, await self.add(unique, indicators, units, lease)

    async def renew(self, name: str, lease: timedelta) -> bool:
        """Push an active source's expiry to `lease` from now; False if it is revoked or gone."""
        status = await self.pool.execute(
            "UPDATE sources SET expires_at = now() + $2::interval WHERE name = $1 AND revoked_at IS NULL", name, lease
        )
        return bool(status == "UPDATE 1")

    async def revoke(self, name: str) -> bool:
        """True when an active source was revoked now."""
        status = await self.pool.execute(
            "UPDATE sources SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL", name
        )
        return bool(status == "UPDATE 1")


@asynccontextmanager
async def source_admin(settings: Settings) -> AsyncIterator[SourceAdmin]:
    """A SourceAdmin on a one-connection pool of the application role, closed on exit."""
    pool = await create_pool(settings, "app", min_size=1, max_size=1)
    try:
        yield SourceAdmin(pool)
    finally:
        await pool.close()


async def ensure_source_topic(settings: Settings, name: str) -> str:
    """Create (or verify) the source's own ingest topic `dx.ingest.v1.<name>`; returns its name."""
    spec = source_topic_spec(settings, name)
    await ensure_topics(settings, [spec])
    return spec.name
