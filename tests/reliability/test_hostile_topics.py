"""Garbage on the topics, read by real processes: every hostile message on dx.ingest.v1 becomes a dead letter with a
reason (collector) whichever ingest topic it is on (a source's own, the bare one, a revoked source's), hostile messages
on dx.events.v1 too (aggregator); the valid events between them still land."""

import random
import uuid
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from shared.adapters.kafka import producer_kwargs
from shared.contracts.topics import DLQ_REASON_HEADER
from shared.settings import Settings
from tests.integration.collector.support import ratio_event, read_topic, with_ids
from tests.reliability.conftest import Tally
from tests.reliability.support import aggregator, applied_count, collector
from tests.support.db import add_kafka_source
from tests.support.env import eventually

pytestmark = pytest.mark.e2e


def garbage(rng: random.Random) -> list[tuple[bytes | None, list[tuple[str, bytes]]]]:
    """(value, headers) of hostile ingest messages."""
    event = ratio_event()
    text = orjson.dumps(event)
    values: list[bytes | None] = [rng.randbytes(rng.randrange(1, 300)) for _ in range(20)]
    values += [
        None, b"", b"null", b"[]", b"42", b'"event"', text[: len(text) // 2], b"\xef\xbb\xbf" + text,
        text[:-1] + b', "numerator": NaN}', text[:-1] + b', "numerator": 7}', b"[" * 5000 + b"]" * 5000,
        orjson.dumps({**event, "unit": "\uff11\uff14\uff17\uff15\uff15"}),
        orjson.dumps({**event, "unit": "1' OR '1'='1"}),
        orjson.dumps({**event, "indicator": "gov.e\u0456d_users"}), orjson.dumps([event]),
        orjson.dumps({**event, "source": "forged"}), b'{"pad": "' + b"x" * 70_000 + b'"}',
    ]  # fmt: skip
    out: list[tuple[bytes | None, list[tuple[str, bytes]]]] = [(v, []) for v in values]
    for source in (b"'; DROP TABLE sources; --", b"nobody", b"\xff\xfe", b"revoked-one"):  # claims another source
        out.append((orjson.dumps(ratio_event()), [("dx-source", source)]))
    return out


async def _produce(settings: Settings, topic: str, messages: list[tuple[bytes | None, Any, bytes | None]]) -> list[Any]:
    producer = AIOKafkaProducer(**producer_kwargs(settings), max_request_size=2 * 1024 * 1024)
    await producer.start()
    try:
        return [await producer.send_and_wait(topic, v, key=k, headers=h or None) for v, h, k in messages]
    finally:
        await producer.stop()


async def test_garbage_on_the_ingest_topic_is_dead_lettered_with_reasons(isolated: Settings, tally: Tally) -> None:
    hostile = await add_kafka_source(isolated, "hostile")
    revoked = await add_kafka_source(isolated, "revoked-one")
    await _revoke(isolated, "revoked-one")
    rng = random.Random(5)
    bad = [(hostile, v, h) for v, h in garbage(rng)]
    bad += [(isolated.topic_ingest, orjson.dumps(ratio_event()), []), (revoked, orjson.dumps(ratio_event()), [])]
    good = [ratio_event(unit=u) for u in ("14755", "14758", "14797")]
    messages: list[tuple[str, bytes | None, Any]] = list(bad)
    for i, event in enumerate(good):
        messages.insert(i * 12, (hostile, orjson.dumps(event), []))
    proc = collector(isolated, DX_COLLECTOR_INGEST_ENABLED="true", DX_COLLECTOR_SOURCE_CACHE_TTL_S="0").start()
    try:
        metadata = [(t, m) for (t, *_), m in zip(messages, await _produce_to(isolated, messages), strict=True)]
        await read_topic(isolated, isolated.topic_events, with_ids({e["event_id"] for e in good}), timeout=60)
        dead = await read_topic(isolated, isolated.topic_deadletter, lambda rs: len(rs) >= len(bad), timeout=60)
        docs = [(orjson.loads(r.value), r.headers) for r in dead]
        reasons = {(d["source_topic"], d["source_offset"]): (d, h) for d, h in docs}
        for (topic, meta), (_, value, _) in zip(metadata, messages, strict=True):
            if value is not None and value in {orjson.dumps(e) for e in good}:
                continue
            doc, headers = reasons.get((topic, meta.offset), ({}, ()))
            handled = bool(doc.get("reason")) and dict(headers).get(DLQ_REASON_HEADER) is not None
            tally.bad_input(handled)
            assert handled, (topic, meta.offset, value[:80] if value else value)
        assert len(dead) == len(bad)
        assert reasons[(isolated.topic_ingest, metadata[-2][1].offset)][0]["reason"].startswith("unauthenticated: ")
        assert reasons[(revoked, metadata[-1][1].offset)][0]["reason"].startswith("forbidden: topic: ")
        claims = [d for d, _ in docs if any(h["key"] == "dx-source" for h in d["headers"])]
        assert len(claims) == 4 and all(d["reason"].startswith("unauthenticated: dx-source: ") for d in claims)
        assert "Traceback" not in proc.log_tail(100_000)
    finally:
        proc.stop()


async def _produce_to(settings: Settings, messages: list[tuple[str, bytes | None, Any]]) -> list[Any]:
    producer = AIOKafkaProducer(**producer_kwargs(settings), max_request_size=2 * 1024 * 1024)
    await producer.start()
    try:
        return [await producer.send_and_wait(t, v, key=b"k", headers=h or None) for t, v, h in messages]
    finally:
        await producer.stop()


async def test_garbage_on_the_events_topic_is_dead_lettered_by_the_aggregator(isolated: Settings, tally: Tally) -> None:
    rng = random.Random(6)
    now = "2026-01-01T00:00:00Z"
    accepted = [{**ratio_event(unit=u), "source": "test", "received_at": now} for u in ("14755", "14758")]
    hostile: list[bytes | None] = [rng.randbytes(64) for _ in range(5)]
    hostile += [None, b"{}", b"[]", b'{"event_id": 1}', orjson.dumps({**accepted[0], "event_id": str(uuid.uuid4()),
                "numerator": 5, "denominator": 1}), orjson.dumps({**accepted[0], "unit": "1' OR '1'='1"})]  # fmt: skip
    messages: list[tuple[bytes | None, Any, bytes | None]] = [(orjson.dumps(accepted[0]), [], b"k")]
    messages += [(v, [], b"k") for v in hostile] + [(orjson.dumps(accepted[1]), [], b"k")]
    proc = aggregator(isolated, f"agg-garbage-{uuid.uuid4().hex[:8]}").start()
    try:
        await _produce(isolated, isolated.topic_events, messages)
        dead = await read_topic(isolated, isolated.topic_deadletter, lambda rs: len(rs) >= len(hostile), timeout=60)
        for record in dead:
            doc = orjson.loads(record.value)
            tally.bad_input(doc["service"] == "aggregator" and bool(doc["reason"]))
        assert len(dead) == len(hostile)
        await eventually(lambda: _applied(isolated, len(accepted)), timeout=60)
        assert proc.proc is not None and proc.proc.poll() is None
    finally:
        proc.stop()


async def _applied(settings: Settings, n: int) -> bool:
    return await applied_count(settings) == n


async def _revoke(settings: Settings, name: str) -> None:
    from tests.integration.collector.support import revoke_source

    await revoke_source(settings, name)
