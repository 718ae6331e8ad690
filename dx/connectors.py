"""The `dx connectors` jobs: list the connectors with their stored state, run one now (under its lease, as the
pull collector would, whatever its schedule), or test one (a dry run: fetch and map, send and store nothing)."""

import os
import socket
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaProducer

from services.pull import store
from services.pull.config import Connector, find_connector, load_connectors
from services.pull.kinds.base import Tally
from services.pull.metrics import PullMetrics
from services.pull.runner import DryContext, Runner, RunResult, kind_of
from services.pull.settings import PullSettings
from shared.adapters.kafka import producer_kwargs
from shared.adapters.postgres import create_pool
from shared.domain.catalog import load_catalog
from shared.domain.hierarchy import load_hierarchy


async def list_connectors(settings: PullSettings) -> list[tuple[Connector, asyncpg.Record | None]]:
    connectors = load_connectors(settings.pull_connectors_dir)
    pool = await create_pool(settings, max_size=1)
    try:
        async with pool.acquire() as conn:
            known = await store.states(conn)
    finally:
        await pool.close()
    return [(c, known.get(c.name)) for c in connectors]


async def run_connector(settings: PullSettings, name: str) -> RunResult | None:
    """One forced run; None if another process holds the connector's lease right now."""
    connector = find_connector(settings.pull_connectors_dir, name)
    catalog, hierarchy = load_catalog(settings.catalog_path), load_hierarchy(settings.units_dir)
    pool = await create_pool(settings, max_size=2)
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    try:
        await producer.start()
        holder = f"dx@{socket.gethostname()}:{os.getpid()}"
        runner = Runner(settings, catalog, hierarchy, pool, producer, PullMetrics(), holder)
        return await runner.run(connector, None)
    finally:
        await producer.stop()
        await pool.close()


async def test_connector(settings: PullSettings, name: str) -> Tally:
    """Fetch and map from the stored cursor (the start if the connector never ran); nothing is sent or stored."""
    connector = find_connector(settings.pull_connectors_dir, name)
    catalog, hierarchy = load_catalog(settings.catalog_path), load_hierarchy(settings.units_dir)
    pool = await create_pool(settings, max_size=1)
    try:
        async with pool.acquire() as conn:
            cursor = await store.stored_cursor(conn, name)
        ctx = DryContext(connector, catalog, hierarchy, datetime.now(UTC), cursor, pool=pool)
        await kind_of(connector).run(ctx)
        return ctx.tally
    finally:
        await pool.close()
