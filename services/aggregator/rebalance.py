"""Rebalances: the offsets stored with the data win over Kafka's, and a revoked partition's transaction commits
before the next owner reads them."""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

from services.aggregator import store

log = logging.getLogger("dxmon.aggregator")


class SeekToStored(ConsumerRebalanceListener):  # type: ignore[misc]
    """On assignment, continue each partition from the offset stored with the data (Kafka's own is a fallback)."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        pool: Any,
        group: str,
        topic: str,
        drain: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.consumer, self.pool, self.group, self.topic, self.drain = consumer, pool, group, topic, drain

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Let the transaction in flight commit, so the next owner finds its offsets stored."""
        if self.drain is not None:
            await self.drain()

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Paused until the seek: the fetcher must not hand out records from Kafka's older committed offset."""
        self.consumer.pause(*assigned)
        try:
            stored = await store.stored_offsets(self.pool, self.group, self.topic, [tp.partition for tp in assigned])
            for tp in assigned:
                if tp.partition in stored:
                    self.consumer.seek(tp, stored[tp.partition])
            log.info("assigned %s, stored offsets %s", sorted(tp.partition for tp in assigned), stored)
        finally:
            self.consumer.resume(*assigned)
