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
from services.collector.ready import Readiness
from services.collector.restart import keep_running
from services.collector.settings import CollectorSettings
from services.collector.sources import PgSources, Sources
from shared import names
from shared.adapters.kafka import consumer_kwargs, producer_kwargs
from shared.adapters.postgres import create_pool
from shared.contracts.topics import ingest_pattern
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
        pool = await create_pool(settings, "collector", min_size=1, max_size=min(4, settings.pg_pool_max))
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(pool.close)
            # Kafka may be down at start-up: serve /healthz at once, report not ready until the producer connects.
            publisher = KafkaPublisher(lambda: _producer(settings), settings.collector_publish_timeout_s, metrics)
            stack.push_async_callback(publisher.stop)
            connect = asyncio.create_task(publisher.run(), name="collector-kafka-publisher")
            stack.push_async_callback(_cancel, connect)
            with contextlib.suppress(TimeoutError):  # one attempt before serving; then retried in the background
                await asyncio.wait_for(publisher.tried.wait(), timeout=10.0)
                if publisher.reached:  # Kafka answered: its producer id follows, so the first /readyz is true
                    await asyncio.wait_for(publisher.connected.wait(), timeout=10.0)
            sources = Sources(
                PgSources(pool),
                settings.collector_source_cache_ttl_s,
                lookups_per_s=settings.collector_token_lookups_per_s,
            )
            # a body is charged up to max_events + 1 tokens before parsing (services/collector/api.py)
            burst = max(settings.collector_rate_burst, settings.collector_max_events + 1)
            limiter = RateLimiter(settings.collector_rate_events_per_s, burst)
            readiness = Readiness(publisher, pool, settings.collector_ready_interval_s)
            await readiness.check()
            stack.push_async_callback(_cancel, asyncio.create_task(readiness.run(), name="collector-readiness"))
            deps = Deps(settings, intake, sources, limiter, publisher, metrics, pool, readiness)
            if settings.collector_ingest_enabled:
                handler = IngestHandler(intake, sources, settings)

                async def ingest_once() -> None:
                    await publisher.connected.wait()
                    consumer = AIOKafkaConsumer(
                        **consumer_kwargs(settings, names.GROUP_COLLECTOR_INGEST),
                        metadata_max_age_ms=int(settings.collector_ingest_topics_refresh_s * 1000),
                    )
                    # the bare ingest topic and every source's (services/collector/ingest.py says who sent what)
                    consumer.subscribe(pattern=ingest_pattern(settings.topic_ingest))
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
