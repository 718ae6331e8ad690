"""Composition root: settings, reference data, PostgreSQL pool, Kafka producer and ingest consumer, FastAPI app."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi import FastAPI

from services.collector.api import Deps, router
from services.collector.ingest import IngestConsumer, IngestHandler
from services.collector.intake import Intake
from services.collector.metrics import CollectorMetrics
from services.collector.publisher import KafkaPublisher
from services.collector.ratelimit import RateLimiter
from services.collector.restart import keep_running
from services.collector.settings import CollectorSettings
from services.collector.sources import PgSources, Sources
from shared import names
from shared.adapters.kafka import consumer_kwargs, producer_kwargs
from shared.adapters.postgres import create_pool
from shared.domain.catalog import load_catalog
from shared.domain.hierarchy import load_hierarchy

log = logging.getLogger(__name__)


def create_app(settings: CollectorSettings | None = None) -> FastAPI:
    """The collector app; connections open in its lifespan, never at import or construction."""
    settings = settings or CollectorSettings()
    metrics = CollectorMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        intake = Intake(load_catalog(settings.catalog_path), load_hierarchy(settings.units_dir))
        pool = await create_pool(settings, "app", min_size=1, max_size=min(4, settings.pg_pool_max))
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(pool.close)
            # Kafka may be down at start-up: serve /healthz at once, report not ready until the producer connects.
            publisher = KafkaPublisher(lambda: _producer(settings), settings.collector_publish_timeout_s, metrics)
            stack.push_async_callback(publisher.stop)
            connect = asyncio.create_task(publisher.run(), name="collector-kafka-publisher")
            stack.push_async_callback(_cancel, connect)
            with contextlib.suppress(TimeoutError):  # one attempt before serving; then retried in the background
                await asyncio.wait_for(publisher.tried.wait(), timeout=10.0)
            sources = Sources(PgSources(pool), settings.collector_source_cache_ttl_s)
            burst = max(settings.collector_rate_burst, settings.collector_max_events)
            limiter = RateLimiter(settings.collector_rate_events_per_s, burst)
            deps = Deps(settings, intake, sources, limiter, publisher, metrics, pool)
            if settings.collector_ingest_enabled:
                handler = IngestHandler(intake, sources, settings)

                async def ingest_once() -> None:
                    await publisher.connected.wait()
                    consumer = AIOKafkaConsumer(
                        settings.topic_ingest, **consumer_kwargs(settings, names.GROUP_COLLECTOR_INGEST)
                    )
                    try:
                        await consumer.start()
                        await IngestConsumer(
                            consumer, handler, publisher, metrics, settings.collector_ingest_batch
                        ).run()
                    finally:
                        await consumer.stop()

                deps.ingest_task = asyncio.create_task(
                    keep_running(ingest_once, "the ingest consumer"), name="collector-ingest"
                )
                deps.ingest_task.add_done_callback(_log_end)
                stack.push_async_callback(_cancel, deps.ingest_task)
            app.state.deps = deps
            yield

    app = FastAPI(title="dxmon collector", version="1", lifespan=lifespan)
    app.include_router(router)
    return app


def _producer(settings: CollectorSettings) -> AIOKafkaProducer:
    """Transactional: a request's records become visible together or never (services/collector/publisher.py)."""
    return AIOKafkaProducer(
        **producer_kwargs(settings),
        transactional_id=settings.transactional_id(),
        transaction_timeout_ms=settings.transaction_timeout_ms(),
    )


def _log_end(task: "asyncio.Task[None]") -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the ingest consumer stopped", exc_info=task.exception())


async def _cancel(task: "asyncio.Task[None]") -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
