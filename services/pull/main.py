"""Composition root of the pull collector: `main()` wires settings, logging and signals; `run(settings, stop)`
validates every connector file (a bad one stops the start with its file and field), opens the pool, the
dead-letter producer and /metrics, then runs one loop per enabled connector until `stop` is set."""

import asyncio
import contextlib
import logging
import os
import socket
import sys
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from services.collector.restart import start_with_retry
from services.pull import store
from services.pull.config import ConnectorConfigError, load_connectors
from services.pull.metrics import PullMetrics
from services.pull.runner import Runner
from services.pull.schedule import interval_seconds
from services.pull.service import connector_loop, mirror_state
from services.pull.settings import PullSettings
from shared.adapters.kafka import producer_kwargs
from shared.adapters.lifecycle import run_until_signalled
from shared.adapters.metrics import serve_metrics
from shared.adapters.postgres import create_pool
from shared.domain.catalog import load_catalog
from shared.domain.hierarchy import load_hierarchy

log = logging.getLogger("dxmon.pull")


async def run(settings: PullSettings, stop: asyncio.Event) -> None:
    try:
        connectors = [c for c in load_connectors(settings.pull_connectors_dir) if c.spec.enabled]
    except ConnectorConfigError as err:
        log.error("connector configuration refused:\n%s", err)
        print(f"pull: connector configuration refused:\n{err}", file=sys.stderr)
        raise SystemExit(2) from None
    catalog, hierarchy = load_catalog(settings.catalog_path), load_hierarchy(settings.units_dir)
    metrics = PullMetrics()
    holder = settings.pull_instance or f"{socket.gethostname()}:{os.getpid()}"
    connected = False  # /healthz answers 503 until PostgreSQL and Kafka are reachable
    server = await serve_metrics(
        metrics.registry, settings.pull_metrics_host, settings.pull_metrics_port, lambda: connected
    )
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(server.close)
        pools: list[asyncpg.Pool] = []

        async def open_pool() -> None:
            pools.append(await create_pool(settings, "pull", max_size=min(4, settings.pg_pool_max)))

        if not await _until_stopped(stop, start_with_retry(open_pool, "PostgreSQL")):
            return
        pool = pools[0]
        stack.push_async_callback(pool.close)
        if not await _until_stopped(stop, start_with_retry(producer.start, "Kafka producer")):
            return
        stack.push_async_callback(producer.stop)
        async with pool.acquire() as conn:
            known = await store.states(conn)
        now = datetime.now(UTC)
        for c in connectors:
            state = known.get(c.name)
            last = state["last_success_at"].timestamp() if state and state["last_success_at"] else 0.0
            metrics.declare(c.name, interval_seconds(c.spec.schedule, now), last, state["failures"] if state else 0)
        connected = True
        runner = Runner(settings, catalog, hierarchy, pool, producer, metrics, holder)
        log.info(
            "pull collector %s: %d connector(s): %s", holder, len(connectors), ", ".join(c.name for c in connectors)
        )
        tasks = [
            asyncio.create_task(connector_loop(runner, c, settings.pull_poll_seconds, stop), name=f"pull-{c.name}")
            for c in connectors
        ]
        tasks.append(asyncio.create_task(mirror_state(runner, connectors, 15.0, stop), name="pull-metrics-state"))
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def _until_stopped(stop: asyncio.Event, work: Coroutine[Any, Any, None]) -> bool:
    """Await `work` unless `stop` is set first (a SIGTERM while Kafka or PostgreSQL is still unreachable)."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if task.done():
        task.result()
        return True
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return False


def main() -> None:
    run_until_signalled(run, PullSettings())
