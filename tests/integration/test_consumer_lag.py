"""The lag probe of a group that commits to Kafka (the alerter's): end offset − committed offset, per partition,
measured on the real broker."""

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import OffsetAndMetadata
from prometheus_client import CollectorRegistry

from shared import names
from shared.adapters.kafka import client_kwargs, consumer_kwargs, producer_kwargs
from shared.adapters.lag import GroupLagProbe, committed_lag, lag_gauge
from shared.settings import Settings


def test_a_partition_never_committed_lags_by_its_end_offset() -> None:
    a, b = TopicPartition("t", 0), TopicPartition("t", 1)
    assert committed_lag({a: 5, b: 7}, {a: 2}) == {a: 3, b: 7}


async def test_the_probe_reports_end_minus_committed_for_each_partition(isolated: Settings) -> None:
    topic = isolated.topic_rollups
    producer = AIOKafkaProducer(**producer_kwargs(isolated))
    await producer.start()
    try:
        for i in range(5):
            await producer.send_and_wait(topic, b"v", key=f"k{i}".encode(), partition=0)
        await producer.send_and_wait(topic, b"v", key=b"k", partition=1)
    finally:
        await producer.stop()
    committer = AIOKafkaConsumer(**consumer_kwargs(isolated, names.GROUP_ALERTER))
    await committer.start()
    try:
        committer.assign([TopicPartition(topic, 0)])
        await committer.commit({TopicPartition(topic, 0): OffsetAndMetadata(2, "")})
    finally:
        await committer.stop()

    registry = CollectorRegistry()
    probe = GroupLagProbe(isolated, names.GROUP_ALERTER, topic, lag_gauge(registry))
    admin = AIOKafkaAdminClient(**client_kwargs(isolated))
    consumer = AIOKafkaConsumer(**client_kwargs(isolated), enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        await probe.measure(admin, consumer)
    finally:
        await consumer.stop()
        await admin.close()

    def lag(partition: int) -> float | None:
        labels = {"group": names.GROUP_ALERTER, "topic": topic, "partition": str(partition)}
        return registry.get_sample_value(names.M_CONSUMER_LAG, labels)

    assert (lag(0), lag(1), lag(2)) == (3.0, 1.0, 0.0)
