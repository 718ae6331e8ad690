"""Readiness from cached state: Kafka and PostgreSQL are checked in the background every `interval` seconds, so
`GET /readyz` costs neither a broker round trip nor a database query, however often it is called."""

import asyncio
import logging

import asyncpg

from services.collector.publisher import Publisher

log = logging.getLogger(__name__)
PG_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
CHECK_TIMEOUT_S = 2.0


class Readiness:
    def __init__(self, publisher: Publisher, pool: asyncpg.Pool, interval: float) -> None:
        self.publisher, self.pool, self.interval = publisher, pool, interval
        self.checks: dict[str, bool] = {"kafka": False, "postgres": False}  # not ready until checked

    async def check(self) -> None:
        kafka, postgres = await asyncio.gather(self.publisher.ready(), pg_ready(self.pool))
        self.checks = {"kafka": kafka, "postgres": postgres}

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except Exception:  # a bug here must not freeze the answer at "ready"
                log.exception("readiness check failed")
                self.checks = {"kafka": False, "postgres": False}


async def pg_ready(pool: asyncpg.Pool) -> bool:
    try:
        return bool(await asyncio.wait_for(pool.fetchval("SELECT 1"), timeout=CHECK_TIMEOUT_S) == 1)
    except PG_ERRORS:
        return False
