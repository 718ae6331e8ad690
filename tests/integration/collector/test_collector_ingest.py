"""The ingest topics against the real broker: a source's valid events forwarded as that source's, everything else
dead-lettered with its reason, origin and authenticated source (none on the bare topic or under another source's
name), offsets committed, and a bad message never stops its partition."""

import asyncio
import base64

import orjson
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared import names
from shared.adapters.kafka import client_kwargs, group_id, producer_kwargs
from shared.contracts.topics import DLQ_REASON_HEADER
from tests.integration.collector.support import (
    collector_settings,
    ratio_event,
    read_topic,
    running_app,
    with_ids,
)
from tests.support.db import add_kafka_source
from tests.support.env import eventually


async def test_ingest_round_trip_with_garbage_and_a_huge_message(isolated):
    settings = collector_settings(isolated)
    office = await add_kafka_source(settings, "commune-office", units=["380@2025-01-01"])
    other = await add_kafka_source(settings, "other-office")
    first, second, scoped = ratio_event(), ratio_event(unit="14758"), ratio_event()
    bad_unit, outside = ratio_event(unit="99999"), ratio_event(unit="14809")
    anonymous, claimed = ratio_event(), ratio_event()
    key = b"same-partition"
    sends = [
        (office, b"\xff\xfe\x00garbage", [], "not_utf8"),
        (office, orjson.dumps(first), [], None),
        (office, b"{this is not json", [], "invalid_json"),
        (office, b'{"pad": "' + b"x" * 300_000 + b'"}', [], "too_large"),
        (office, orjson.dumps(bad_unit), [], "unknown_unit"),
        (office, orjson.dumps(scoped), [("dx-source", b"commune-office")], None),
        (office, orjson.dumps(outside), [], "forbidden"),
        (office, orjson.dumps(second), [], None),
        (settings.topic_ingest, orjson.dumps(anonymous), [], "unauthenticated"),  # no source: no implicit one
        (other, orjson.dumps(claimed), [("dx-source", b"commune-office")], "unauthenticated"),  # not its topic
    ]
    async with running_app(settings):
        producer = AIOKafkaProducer(**producer_kwargs(settings), max_request_size=2 * 1024 * 1024)
        await producer.start()
        try:
            metadata = [await producer.send_and_wait(t, v, key=key, headers=h) for t, v, h, _ in sends]
        finally:
            await producer.stop()

        good = {first["event_id"]: "commune-office", scoped["event_id"]: "commune-office",
                second["event_id"]: "commune-office"}  # fmt: skip
        events = await read_topic(settings, settings.topic_events, with_ids(set(good)))
        assert {orjson.loads(r.value)["event_id"]: orjson.loads(r.value)["source"] for r in events} == good
        expected_dead = [(m, t, reason) for m, (t, _, _, reason) in zip(metadata, sends, strict=True) if reason]
        dead = await read_topic(settings, settings.topic_deadletter, lambda rs: len(rs) >= len(expected_dead))
        assert len(dead) == len(expected_dead)
        by_origin = {(orjson.loads(r.value)["source_topic"], orjson.loads(r.value)["source_offset"]): r for r in dead}
        for meta, topic, reason in expected_dead:
            record = by_origin[(topic, meta.offset)]
            doc = orjson.loads(record.value)
            assert doc["reason"].startswith(f"{reason}: "), doc["reason"]
            assert doc["reasons"][0] == doc["reason"]
            assert (doc["source_topic"], doc["source_partition"]) == (topic, meta.partition)
            assert doc["service"] == "collector"
            assert doc["source"] == (None if reason == "unauthenticated" else "commune-office")
            assert record.key == key
            assert dict(record.headers)[DLQ_REASON_HEADER] == reason.encode()
        garbage = orjson.loads(by_origin[(office, metadata[0].offset)].value)
        assert (garbage["original"], base64.b64decode(garbage["original_b64"])) == (None, sends[0][1])
        huge = orjson.loads(by_origin[(office, metadata[3].offset)].value)
        assert (huge["original_truncated"], huge["original_size"]) == (True, len(sends[3][1]))
        last = TopicPartition(office, metadata[7].partition)
        await eventually(lambda: _committed_is(settings, last, metadata[7].offset + 1))


async def _committed_is(settings, tp: TopicPartition, offset: int) -> bool:
    """The collector's group has committed exactly past the last message (asserted, so a miss says the value)."""
    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(
            group_id(settings, names.GROUP_COLLECTOR_INGEST), partitions=[tp]
        )
    finally:
        await admin.close()
    meta = offsets.get(tp)
    assert meta is not None and meta.offset == offset, meta
    return True


async def test_a_source_added_while_the_collector_runs_is_consumed_from_its_new_topic(isolated):
    settings = collector_settings(isolated, collector_ingest_topics_refresh_s=1)
    async with running_app(settings):
        topic = await add_kafka_source(settings, "late-office")  # after the subscription started
        event = ratio_event()
        producer = AIOKafkaProducer(**producer_kwargs(settings))
        await producer.start()
        try:
            # a topic just created may have no leader yet (CI once hung 600 s on its "NotLeader" retries): produce
            # once every partition has one, and within a bound
            await eventually(lambda: leaders_elected(producer, topic), timeout=30)
            await asyncio.wait_for(producer.send_and_wait(topic, orjson.dumps(event)), 60)
        finally:
            await producer.stop()
        (record,) = await read_topic(settings, settings.topic_events, with_ids({event["event_id"]}), timeout=60)
    assert orjson.loads(record.value)["source"] == "late-office"


async def leaders_elected(producer: AIOKafkaProducer, topic: str) -> bool:
    await producer.client.force_metadata_update()
    cluster = producer.client.cluster
    partitions = cluster.partitions_for_topic(topic) or set()
    return bool(partitions) and all(
        (cluster.leader_for_partition(TopicPartition(topic, p)) or -1) >= 0 for p in partitions
    )
