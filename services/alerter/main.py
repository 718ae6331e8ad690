"""Composition root of the alerter: settings, catalog, hierarchy, pool, Kafka, Alertmanager, metrics, loops."""

import asyncio
import contextlib
import logging
import signal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from prometheus_client import start_http_server

from services.alerter.alertmanager import Alertmanager
from services.alerter.clock import Clock, OffsetClock, SystemClock
from services.alerter.metrics import build_metrics
from services.alerter.service import Alerter, Publisher, log
from services.alerter.settings import AlerterSettings
from shared import names
from shared.adapters.kafka import consumer_kwargs, producer_kwargs
from shared.adapters.postgres import connect, create_pool
from shared.contracts.alerts import AlertV1, alert_key, alert_value
from shared.contracts.rollups import rollup_pair
from shared.contracts.topics import CHANNEL_ALERTER
from shared.domain.catalog import load_catalog
from shared.domain.hierarchy import load_hierarchy


class KafkaPublisher(Publisher):
    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self.producer, self.topic = producer, topic

    async def publish(self, alert: AlertV1) -> None:
        await self.producer.send_and_wait(self.topic, alert_value(alert), key=alert_key(alert.fingerprint))


async def consume(alerter: Alerter, settings: AlerterSettings) -> None:
    """Evaluate the (indicator, unit) of every dx.rollups.v1 message; commit once stored."""
    consumer = AIOKafkaConsumer(settings.topic_rollups, **consumer_kwargs(settings, names.GROUP_ALERTER))
    await consumer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=1000, max_records=1000)
            pairs = set()
            for records in batches.values():
                for record in records:
                    pair = rollup_pair(record.key)
                    if pair is not None:
                        pairs.add(pair)
            if not batches:
                continue
            try:
                if pairs:
                    await alerter.evaluate(sorted(pairs), "rollup")
                await consumer.commit()
            except Exception:  # the periodic evaluation covers what was missed: a lost rollup only delays
                log.exception("rollup evaluation failed")
    finally:
        await consumer.stop()


async def main(settings: AlerterSettings, clock: Clock | None = None) -> None:
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if clock is None:
        clock = OffsetClock(settings.alerter_clock_start) if settings.alerter_clock_start else SystemClock()
    catalog, hierarchy = load_catalog(settings.catalog_path), load_hierarchy(settings.units_dir)
    metrics = build_metrics()
    pool = await create_pool(settings)
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    await producer.start()
    sink = Alertmanager(settings.alertmanager_url)
    alerter = Alerter(settings, catalog, hierarchy, pool, sink, KafkaPublisher(producer, settings.topic_alerts),
                      metrics, clock)  # fmt: skip
    listener = await connect(settings)
    await listener.add_listener(CHANNEL_ALERTER, alerter.on_notify)
    start_http_server(settings.alerter_metrics_port, settings.alerter_metrics_host, registry=metrics.registry)
    log.info("alerter %s up; metrics on :%d", alerter.holder, settings.alerter_metrics_port)
    tasks = [asyncio.create_task(c) for c in (alerter.periodic(), alerter.lead(), consume(alerter, settings))]
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    waiter = asyncio.create_task(stop.wait())
    await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
    failed = [t for t in tasks if t.done() and not t.cancelled() and t.exception() is not None]
    for task in failed:
        log.error("alerter loop failed, stopping", exc_info=task.exception())
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    with contextlib.suppress(Exception):
        await alerter.release()  # hand over at once rather than after the lease expires
    await listener.close()
    await producer.stop()
    await sink.close()
    await pool.close()
    if failed:
        raise SystemExit(1)


def run() -> None:
    asyncio.run(main(AlerterSettings()))
