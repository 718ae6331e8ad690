"""The ingest topic path against the real broker: valid events forwarded, everything else dead-lettered with
its reason and origin, offsets committed, and a bad message never stops its partition."""

import base64

import orjson
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared import names
from shared.adapters.kafka import client_kwargs, group_id, producer_kwargs
from shared.contracts.topics import DLQ_REASON_HEADER
from tests.integration.collector.support import (
    add_source,
    collector_settings,
    ratio_event,
    read_topic,
    running_app,
    with_ids,
)
from tests.support.env import eventually


async def test_ingest_round_trip_with_garbage_and_a_huge_message(isolated):
    settings = collector_settings(isolated)
    await add_source(settings, "commune-office", units=["380"])
    first, second, scoped = ratio_event(), ratio_event(unit="14758"), ratio_event()
    bad_unit, outside = ratio_event(unit="99999"), ratio_event(unit="14809")
    key = b"same-partition"
    sends = [
        (b"\xff\xfe\x00garbage", [], "not_utf8"),
        (orjson.dumps(first), [], None),
        (b"{this is not json", [], "invalid_json"),
        (b'{"pad": "' + b"x" * 300_000 + b'"}', [], "too_large"),
        (orjson.dumps(bad_unit), [], "unknown_unit"),
        (orjson.dumps(scoped), [("dx-source", b"commune-office")], None),
        (orjson.dumps(outside), [("dx-source", b"commune-office")], "forbidden"),
        (orjson.dumps(second), [], None),
    ]
    async with running_app(settings):
        producer = AIOKafkaProducer(**producer_kwargs(settings), max_request_size=2 * 1024 * 1024)
        await producer.start()
        try:
            metadata = [await producer.send_and_wait(settings.topic_ingest, v, key=key, headers=h) for v, h, _ in sends]
        finally:
            await producer.stop()

        good = {
            first["event_id"]: "kafka-ingest",
            scoped["event_id"]: "commune-office",
            second["event_id"]: "kafka-ingest",
        }
        events = await read_topic(settings, settings.topic_events, with_ids(set(good)))
        assert {orjson.loads(r.value)["event_id"]: orjson.loads(r.value)["source"] for r in events} == good
        expected_dead = [(m, reason) for m, (_, _, reason) in zip(metadata, sends, strict=True) if reason]
        dead = await read_topic(settings, settings.topic_deadletter, lambda rs: len(rs) >= len(expected_dead))
        assert len(dead) == len(expected_dead)
        by_offset = {orjson.loads(r.value)["source_offset"]: r for r in dead}
        for meta, reason in expected_dead:
            record = by_offset[meta.offset]
            doc = orjson.loads(record.value)
            assert doc["reason"].startswith(f"{reason}: "), doc["reason"]
            assert doc["reasons"][0] == doc["reason"]
            assert (doc["source_topic"], doc["source_partition"]) == (settings.topic_ingest, meta.partition)
            assert doc["service"] == "collector"
            assert record.key == key
            assert dict(record.headers)[DLQ_REASON_HEADER] == reason.encode()
        garbage = orjson.loads(by_offset[metadata[0].offset].value)
        assert (garbage["original"], base64.b64decode(garbage["original_b64"])) == (None, sends[0][0])
        huge = orjson.loads(by_offset[metadata[3].offset].value)
        assert (huge["original_truncated"], huge["original_size"]) == (True, len(sends[3][0]))
        last = TopicPartition(settings.topic_ingest, metadata[-1].partition)
        await eventually(lambda: _committed_is(settings, last, metadata[-1].offset + 1))


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
