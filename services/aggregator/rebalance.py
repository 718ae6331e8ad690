"""Rebalances: the offsets stored with the data are the only ones used, and a revoked partition's transaction
commits before the next owner reads them.

A partition without a stored row has had nothing applied by this group: it is read from offset 0 (never from Kafka's
committed offset, which is best effort and may be ahead of the database after a restore). A stored offset below the
partition's log start means events were deleted (retention, a restored database) before being applied: that
partition is not consumed at all — an error in the log and `dx_aggregator_partition_stopped` = 1 — rather than
silently skipping to the earliest event left. aiokafka drops exceptions raised in a rebalance listener, so failures
to read the offsets are retried here, the partitions paused meanwhile, instead of falling back to Kafka's offsets.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

from services.aggregator import store
from services.aggregator.metrics import AggregatorMetrics

log = logging.getLogger("dxmon.aggregator")
T = TypeVar("T")


class SeekToStored(ConsumerRebalanceListener):  # type: ignore[misc]
    """On assignment, continue each partition from the offset stored with the data."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        pool: Any,
        group: str,
        topic: str,
        drain: Callable[[], Awaitable[None]] | None = None,
        metrics: AggregatorMetrics | None = None,
        retry_seconds: float = 1.0,
    ) -> None:
        self.consumer, self.pool, self.group, self.topic, self.drain = consumer, pool, group, topic, drain
        self.metrics, self.retry_seconds = metrics, retry_seconds

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Let the transaction in flight commit, so the next owner finds its offsets stored."""
        if self.drain is not None:
            await self.drain()

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Paused until the seek: the fetcher must not hand out records from Kafka's committed offset."""
        if not assigned:
            return
        self.consumer.pause(*assigned)
        partitions = sorted(tp.partition for tp in assigned)
        stored = await self._retried(lambda: store.stored_offsets(self.pool, self.group, self.topic, partitions))
        starts: dict[TopicPartition, int] = await self._retried(lambda: self.consumer.beginning_offsets(list(assigned)))
        consumed = []
        for tp in sorted(assigned, key=lambda t: t.partition):
            offset, start = stored.get(tp.partition, 0), starts[tp]
            stopped = offset < start
            if self.metrics is not None:
                self.metrics.stopped.labels(tp.topic, str(tp.partition)).set(int(stopped))
            if stopped:
                log.error(
                    "partition %s of %s NOT consumed: the stored offset %s is below the log start %s, so events at"
                    " offsets %s..%s were deleted before being applied; restore them, or move the offset of group %s"
                    " in consumer_offsets by hand once the loss is accounted for",
                    tp.partition, tp.topic, offset, start, offset, start - 1, self.group,
                )  # fmt: skip
                continue
            self.consumer.seek(tp, offset)
            consumed.append(tp)
        log.info("assigned %s, stored offsets %s", partitions, stored)
        if consumed:
            self.consumer.resume(*consumed)

    async def _retried(self, call: Callable[[], Awaitable[T]]) -> T:
        while True:
            try:
                return await call()
            except Exception as err:  # any failure: keep the partitions paused and try again
                log.warning("reading the stored offsets failed (%s: %s); retrying", type(err).__name__, err)
                await asyncio.sleep(self.retry_seconds)
