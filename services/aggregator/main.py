"""Composition root of the aggregator: `main()` wires settings, logging and signals; `run(settings, stop)` runs
(reference data, pool, Kafka clients, /metrics)."""

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.aggregator import store
from services.aggregator.consumer import Aggregator
from services.aggregator.decode import Decoder
from services.aggregator.metrics import AggregatorMetrics
from services.aggregator.rebalance import SeekToStored
from services.aggregator.settings import AggregatorSettings
from services.aggregator.workers import Preparer
from shared.adapters.kafka import consumer_kwargs, group_id, producer_kwargs
from shared.adapters.lifecycle import freeze_heap, run_until_signalled
from shared.adapters.metrics import serve_metrics
from shared.adapters.postgres import create_pool
from shared.domain.catalog import load_catalog
from shared.domain.hierarchy import load_hierarchy

log = logging.getLogger("dxmon.aggregator")


async def run(settings: AggregatorSettings, stop: asyncio.Event) -> None:
    """Consume until `stop` is set, then close everything."""
    catalog = load_catalog(settings.catalog_path)
    hierarchy = load_hierarchy(settings.units_dir)
    metrics = AggregatorMetrics()
    ready = False
    server = await serve_metrics(
        metrics.registry, settings.aggregator_metrics_host, settings.aggregator_metrics_port, lambda: ready
    )
    pool = await create_pool(settings, "aggregator", max_size=4)
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    consumer = AIOKafkaConsumer(
        **consumer_kwargs(settings, settings.aggregator_group), max_poll_records=settings.aggregator_max_records
    )
    decoder = Decoder(catalog, hierarchy)
    preparer = Preparer(decoder, settings.catalog_path, settings.units_dir, settings.aggregator_decode_worker)
    try:
        await store.sync_tree(pool, hierarchy)
        await preparer.start()
        await producer.start()
        aggregator = Aggregator(settings, catalog, hierarchy, pool, consumer, producer, metrics, preparer)
        group = group_id(settings, settings.aggregator_group)
        listener = SeekToStored(
            consumer, pool, group, settings.topic_events, aggregator.drain, metrics, settings.aggregator_retry_seconds
        )
        consumer.subscribe([settings.topic_events], listener=listener)
        await consumer.start()
        freeze_heap()
        ready = True
        log.info("aggregator consuming %s as %s", settings.topic_events, settings.aggregator_group)
        await aggregator.run(stop)
    finally:
        ready = False
        await consumer.stop()
        await producer.stop()
        await pool.close()
        preparer.close()
        server.close()
        log.info("aggregator stopped")


def main() -> None:
    run_until_signalled(run, AggregatorSettings())
