"""Consumer lag of every consumer group, as one metric family: `dx_consumer_lag_messages{group, topic, partition}`
(messages in the topic the group has not yet consumed; docs/alerts-and-metrics.md).

`group` is the logical group name (shared/names.py `GROUP_*`), not the prefixed group id, so the label set stays
the same in every deployment. Two ways to measure it:
- `record_position_lag`: a consumer that polls itself (the aggregator, the collector's ingest consumer) sets the
  lag of its assigned partitions from its fetch position and the high watermark of its last fetch;
- `GroupLagProbe`: for a group driven by a framework (the alerter's FastStream subscriber), end offset minus the
  group's committed offset, read with the admin client and an unsubscribed consumer every few seconds.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Collection

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import IllegalStateError, KafkaError
from prometheus_client import CollectorRegistry, Gauge

from shared import names
from shared.adapters.kafka import client_kwargs, group_id
from shared.settings import Settings

log = logging.getLogger("dxmon.lag")
LABELS = ("group", "topic", "partition")


def lag_gauge(registry: CollectorRegistry) -> Gauge:
    return Gauge(names.M_CONSUMER_LAG, "Messages not yet consumed by the group", LABELS, registry=registry)


async def unread(
    consumer: AIOKafkaConsumer, skip: Collection[TopicPartition] = ()
) -> AsyncIterator[tuple[TopicPartition, int | None]]:
    """Per partition assigned to `consumer` (except `skip`): records after its fetch position up to the last stable
    offset (the high watermark when it reads uncommitted records), never negative; None while the partition was not
    fetched from yet. A partition revoked meanwhile (a rebalance) is left out."""
    for tp in consumer.assignment():
        if tp in skip:
            continue
        high, stable = consumer.highwater(tp), consumer.last_stable_offset(tp)
        if high is None:
            yield tp, None
            continue
        end = stable if stable is not None and stable >= 0 else high  # -1: read_uncommitted
        try:
            position = await consumer.position(tp)
        except (IllegalStateError, KafkaError):
            continue
        yield tp, max(0, end - position)


async def record_position_lag(gauge: Gauge, group: str, consumer: AIOKafkaConsumer) -> None:
    """Lag of each partition assigned to `consumer` that was fetched from: `unread` records. A read_committed
    consumer that caught up shows 0, not the transaction markers after its position."""
    async for tp, lag in unread(consumer):
        if lag is not None:
            gauge.labels(group=group, topic=tp.topic, partition=str(tp.partition)).set(lag)


def committed_lag(end: dict[TopicPartition, int], committed: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
    """Per partition: end offset − committed offset; a partition the group never committed lags by its end offset
    (the group starts at the earliest offset)."""
    return {tp: max(0, offset - committed.get(tp, 0)) for tp, offset in end.items()}


@contextlib.asynccontextmanager
async def offset_clients(settings: Settings) -> AsyncIterator[tuple[AIOKafkaAdminClient, AIOKafkaConsumer]]:
    """An admin client and an unsubscribed consumer, started, for reading offsets; closed on exit."""
    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    consumer = AIOKafkaConsumer(**client_kwargs(settings), enable_auto_commit=False)
    try:
        await admin.start()
        await consumer.start()
        yield admin, consumer
    finally:
        with contextlib.suppress(KafkaError):
            await consumer.stop()
        with contextlib.suppress(KafkaError):
            await admin.close()


async def end_offsets(admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, topic: str) -> dict[TopicPartition, int]:
    """The end offset of every partition of `topic` (the last stable offset for a read_committed `consumer`)."""
    (described,) = await admin.describe_topics([topic])
    tps = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
    return await consumer.end_offsets(tps) if tps else {}


class GroupLagProbe:
    """Every `interval` seconds, the lag of `group` on `topic` from the offsets it committed to Kafka."""

    def __init__(self, settings: Settings, group: str, topic: str, gauge: Gauge, interval: float = 10.0) -> None:
        self.settings, self.group, self.topic, self.gauge, self.interval = settings, group, topic, gauge, interval

    async def run(self) -> None:
        """Runs until cancelled; on an error the clients are closed, the error logged, and the probe starts again
        after `interval` (the lag series keep their last values meanwhile): measuring never stops the service."""
        while True:
            try:
                await self._connected()
            except KafkaError as err:
                log.info("consumer lag of %s not measured: %s", self.group, err)
                self.unmeasured()
            except Exception:
                log.warning("consumer lag of %s not measured", self.group, exc_info=True)
                self.unmeasured()
            await asyncio.sleep(self.interval)

    def unmeasured(self) -> None:
        """Called when a measurement failed (the series keep their last values)."""

    async def _connected(self) -> None:
        async with offset_clients(self.settings) as (admin, consumer):
            while True:
                await self.measure(admin, consumer)
                await asyncio.sleep(self.interval)

    async def measure(self, admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer) -> None:
        end = await end_offsets(admin, consumer, self.topic)
        tps = list(end)
        if not tps:
            return
        offsets = await admin.list_consumer_group_offsets(group_id(self.settings, self.group), partitions=tps)
        committed = {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
        for tp, lag in committed_lag(end, committed).items():
            self.gauge.labels(group=self.group, topic=tp.topic, partition=str(tp.partition)).set(lag)
