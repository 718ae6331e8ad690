"""How far the aggregator is behind dx.events.v1: the topic's end offsets minus the offsets the aggregator wrote to
PostgreSQL with its batches (`consumer_offsets`, the truth: services/aggregator/sql.py), in messages.

The alerter starts no new alert while this backlog is large: the values then lag behind what the sources sent, and
a commune whose newer events are still queued looks stale or behind (docs/alerts-and-metrics.md "Held alerts").
`dx status` prints it above the table, and `dx status --wait` waits for it.
"""

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import Gauge

from shared.adapters.kafka import group_id
from shared.adapters.lag import GroupLagProbe, committed_lag, end_offsets, offset_clients
from shared.settings import Settings

COMMITTED = "SELECT partition, next_offset FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2"


def backlog_messages(end: dict[TopicPartition, int], committed: dict[TopicPartition, int]) -> int:
    """Messages the group has not applied, over every partition. The collector writes each request in a Kafka
    transaction, so a partition the aggregator has caught up with still ends with one commit marker after the
    offset it stored: one message per partition is not counted."""
    return sum(max(0, lag - 1) for lag in committed_lag(end, committed).values())


async def committed_offsets(
    conn: asyncpg.Connection, settings: Settings, group: str, topic: str
) -> dict[TopicPartition, int]:
    rows = await conn.fetch(COMMITTED, group_id(settings, group), topic)
    return {TopicPartition(topic, r["partition"]): r["next_offset"] for r in rows}


async def measure_backlog(
    conn: asyncpg.Connection, admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, settings: Settings,
    group: str, topic: str,
) -> int:  # fmt: skip
    end = await end_offsets(admin, consumer, topic)
    return backlog_messages(end, await committed_offsets(conn, settings, group, topic))


async def aggregator_backlog(conn: asyncpg.Connection, settings: Settings, group: str, topic: str) -> int:
    """One measurement with short-lived Kafka clients (for `dx`)."""
    async with offset_clients(settings) as (admin, consumer):
        return await measure_backlog(conn, admin, consumer, settings, group, topic)


class BacklogProbe(GroupLagProbe):
    """Every `interval` seconds, the backlog of `group` on `topic` (None until measured and after a failure)."""

    def __init__(
        self, settings: Settings, group: str, topic: str, pool: asyncpg.Pool, gauge: Gauge, interval: float
    ) -> None:
        super().__init__(settings, group, topic, gauge, interval)
        self.pool = pool
        self.messages: int | None = None

    async def measure(self, admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer) -> None:
        async with self.pool.acquire() as conn:
            self.messages = await measure_backlog(conn, admin, consumer, self.settings, self.group, self.topic)
        self.gauge.set(self.messages)

    def unmeasured(self) -> None:
        self.messages = None
