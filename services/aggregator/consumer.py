"""The consume loop: batches from dx.events.v1, dead letters, one transaction per batch, then notifications.

Why aiokafka directly and not a FastStream subscriber: the offsets live in PostgreSQL, so the rebalance listener
must seek the consumer it belongs to; a failed transaction must seek every partition of the batch back (FastStream's
ack policies either auto-commit or, with ACK, let a later commit skip a failed message); the dead-letter record needs
each message's raw bytes, partition and offset; and per-message wrappers cost throughput. The Kafka commit after the
database commit is best effort, for lag tools only: the database offsets are the truth.
"""

import asyncio
import logging
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from services.aggregator import store
from services.aggregator.apply import Located, apply_batch, refresh_increments
from services.aggregator.decode import code_of, deadletter_value, decode
from services.aggregator.metrics import Metrics
from services.aggregator.settings import AggregatorSettings
from shared import names
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.domain.timeutil import local_date

log = logging.getLogger("dxmon.aggregator")


class SeekToStored(ConsumerRebalanceListener):  # type: ignore[misc]
    """On assignment, continue each partition from the offset stored with the data (Kafka's own is a fallback)."""

    def __init__(self, consumer: AIOKafkaConsumer, pool: Any, group: str, topic: str) -> None:
        self.consumer, self.pool, self.group, self.topic = consumer, pool, group, topic

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Nothing to do: offsets move only with the database transaction."""

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        stored = await store.stored_offsets(self.pool, self.group, self.topic, [tp.partition for tp in assigned])
        for tp in assigned:
            if tp.partition in stored:
                self.consumer.seek(tp, stored[tp.partition])
        log.info("assigned %s, stored offsets %s", sorted(tp.partition for tp in assigned), stored)


class Aggregator:
    def __init__(
        self,
        settings: AggregatorSettings,
        catalog: Catalog,
        hierarchy: Hierarchy,
        pool: Any,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        metrics: Metrics,
    ) -> None:
        self.settings, self.catalog, self.hierarchy = settings, catalog, hierarchy
        self.pool, self.consumer, self.producer, self.metrics = pool, consumer, producer, metrics
        self.last_refresh = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        s = self.settings
        while not stop.is_set():
            batches = await self.consumer.getmany(
                timeout_ms=s.aggregator_batch_timeout_ms, max_records=s.aggregator_max_records
            )
            if batches:
                try:
                    await self.handle(batches)
                except Exception:
                    log.exception("batch failed; rewinding its partitions and retrying")
                    for tp, records in batches.items():
                        self.consumer.seek(tp, records[0].offset)
                    await asyncio.sleep(s.aggregator_retry_seconds)
            await self.update_lag()
            await self.maybe_refresh()

    async def handle(self, batches: dict[TopicPartition, list[Any]]) -> None:
        now = datetime.now(UTC)
        good: list[Located] = []
        poison: list[tuple[Any, list[str]]] = []
        for tp in sorted(batches, key=lambda t: t.partition):
            for record in batches[tp]:
                decoded = decode(record.value, self.catalog, self.hierarchy, now)
                if isinstance(decoded, list):
                    poison.append((record, decoded))
                else:
                    good.append(Located(decoded, record.partition, record.offset))
        if poison:
            await self.deadletter(poison, now)
        self.metrics.batch_size.observe(len(good) + len(poison))
        offsets = store.Offsets(
            self.settings.aggregator_group, self.settings.topic_events,
            {tp.partition: records[-1].offset + 1 for tp, records in batches.items()},
        )  # fmt: skip
        started = time.perf_counter()
        result = await apply_batch(self.pool, self.catalog, self.hierarchy, good, offsets, self.today())
        committed = time.time()
        self.metrics.transaction_seconds.observe(time.perf_counter() - started)
        self.metrics.applied.inc(len(result.new))
        self.metrics.duplicates.inc(result.duplicates)
        for event in result.new:
            self.metrics.e2e_latency.observe(max(0.0, committed - event.received_at.timestamp()))
        await self.notify(result.changed)
        await self.commit_kafka(batches)

    async def deadletter(self, poison: list[tuple[Any, list[str]]], now: datetime) -> None:
        """Publish every poison message and wait for the acks before the offsets can move past them."""
        futures = []
        for record, errors in poison:
            value = deadletter_value(errors, record.topic, record.partition, record.offset, record.value, now)
            headers = [(names.DLQ_REASON_HEADER, code_of(errors).encode())]
            futures.append(
                await self.producer.send(self.settings.topic_deadletter, value, key=record.key, headers=headers)
            )
            log.warning("dead-lettered %s[%d]@%d: %s", record.topic, record.partition, record.offset, errors[0])
        await asyncio.gather(*futures)
        for _, errors in poison:
            self.metrics.deadlettered.labels(reason=code_of(errors)).inc()

    async def notify(self, changed: Iterable[Any]) -> None:
        """dx.rollups.v1, after the commit; a lost notification only delays the alerter (it also polls)."""
        try:
            futures = []
            for row in changed:
                key = f"{row['indicator']}:{row['unit']}".encode()
                futures.append(await self.producer.send(self.settings.topic_rollups, rollup_message(row), key=key))
            await asyncio.gather(*futures)
        except KafkaError:
            log.exception("rollup notifications not published")

    async def commit_kafka(self, batches: dict[TopicPartition, list[Any]]) -> None:
        try:
            await self.consumer.commit({tp: records[-1].offset + 1 for tp, records in batches.items()})
        except KafkaError as err:
            log.info("Kafka offset commit skipped (the database holds the offsets): %s", err)

    async def update_lag(self) -> None:
        for tp in self.consumer.assignment():
            high = self.consumer.highwater(tp)
            if high is not None:
                position = await self.consumer.position(tp)
                self.metrics.lag.labels(topic=tp.topic, partition=str(tp.partition)).set(max(0, high - position))

    async def maybe_refresh(self) -> None:
        """Increment values drift as days leave the 365-day window: re-evaluate them now and then."""
        if time.monotonic() - self.last_refresh < self.settings.aggregator_refresh_seconds:
            return
        self.last_refresh = time.monotonic()
        try:
            await self.notify(await refresh_increments(self.pool, self.catalog, self.hierarchy, self.today()))
        except Exception:
            log.exception("refresh of increment values failed; will retry")

    @staticmethod
    def today() -> date:
        return local_date(datetime.now(UTC))


def rollup_message(row: Any) -> bytes:
    """The dx.rollups.v1 value of one changed current_values row (numbers as JSON numbers)."""

    def num(x: Decimal | None) -> float | int | None:
        if x is None:
            return None
        return int(x) if x == x.to_integral_value() else float(x)

    def ts(x: datetime | None) -> str | None:
        return None if x is None else x.astimezone(UTC).isoformat().replace("+00:00", "Z")

    return orjson.dumps({
        "indicator": row["indicator"], "unit": row["unit"], "level": row["level"], "value": num(row["value"]),
        "numerator": num(row["numerator"]), "denominator": num(row["denominator"]), "coverage": row["coverage"],
        "reporting_children": row["reporting_children"], "children_in_force": row["children_in_force"],
        "last_observed_at": ts(row["last_observed_at"]), "updated_at": ts(row["updated_at"]),
    })  # fmt: skip
