"""The hostile corpus (tests/reliability/corpus.py, over 1,000 distinct events in named classes) against real
processes: over HTTP the collector gives each event exactly its expected first error; on dx.ingest.v1 the collector,
and on dx.events.v1 the aggregator, dead-letter each with exactly that reason. Every input is counted once per path
and class in `make reliability`."""

from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from shared.adapters.kafka import producer_kwargs
from shared.contracts.topics import DLQ_REASON_HEADER
from shared.settings import Settings
from tests.integration.collector.support import read_topic
from tests.reliability.conftest import Tally
from tests.reliability.corpus import Hostile, corpus
from tests.reliability.support import aggregator, base_url, collector
from tests.support.db import add_kafka_source, add_source

pytestmark = pytest.mark.e2e

CORPUS = corpus()
BATCH = 500


def first_error(errors: list[str]) -> tuple[str, str] | None:
    parts = errors[0].split(":", 2) if errors else []
    return (parts[0].strip(), parts[1].strip()) if len(parts) == 3 else None


def test_the_corpus_holds_over_a_thousand_distinct_events() -> None:
    assert len({orjson.dumps(h.event) for h in CORPUS}) == len(CORPUS) >= 1000


async def test_every_hostile_event_over_http_gets_its_expected_first_error(isolated: Settings, tally: Tally) -> None:
    auth = await add_source(isolated, "corpus")
    proc = collector(isolated, DX_COLLECTOR_RATE_BURST="1000000").start()
    wrong: list[tuple[Hostile, Any]] = []
    try:
        async with httpx.AsyncClient(base_url=base_url(proc), timeout=60, headers=auth) as client:
            for start in range(0, len(CORPUS), BATCH):
                chunk = CORPUS[start : start + BATCH]
                answer = await client.post("/v1/events", content=orjson.dumps([h.event for h in chunk]))
                assert answer.status_code == 422, answer.text  # nothing in the corpus is valid
                by_index = {r["index"]: first_error(r["errors"]) for r in answer.json()["rejected"]}
                for i, h in enumerate(chunk):
                    if not tally.hostile(f"http.{h.cls}", orjson.dumps(h.event), h.expected, by_index.get(i)):
                        wrong.append((h, by_index.get(i)))
    finally:
        proc.stop()
    assert not wrong, wrong[:5]


async def produce(settings: Settings, topic: str, values: list[bytes], headers: list[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=b"k", headers=headers or None) for value in values]
        for future in futures:
            await future
    finally:
        await producer.stop()


def check_letters(
    tally: Tally, path: str, letters: list[Any], sent: list[bytes], expected: list[tuple[str, str]]
) -> list[Any]:
    """Record each sent input against its dead letter (reason and dx-reason header); returns the mismatches."""
    by_original: dict[str, tuple[tuple[str, str] | None, bytes | None]] = {}
    for record in letters:
        doc = orjson.loads(record.value)
        by_original[doc["original"]] = (first_error([doc["reason"]]), dict(record.headers).get(DLQ_REASON_HEADER))
    wrong = []
    for h, value, want in zip(CORPUS, sent, expected, strict=True):
        got, header = by_original.get(value.decode(), (None, None))
        answer = got if header == want[0].encode() else (got, header)
        if not tally.hostile(f"{path}.{h.cls}", value, want, answer):
            wrong.append((h, got, header))
    return wrong


async def test_every_hostile_event_on_the_events_topic_is_dead_lettered_by_the_aggregator(
    isolated: Settings, tally: Tally
) -> None:
    """As if a broken or forged producer wrote dx.events.v1: the aggregator refuses each with its reason."""
    received = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    sent = [orjson.dumps({"source": "corpus", **h.event, "received_at": received}) for h in CORPUS]
    expected = [("invalid_field", "source") if "source" in h.event else h.expected for h in CORPUS]
    await produce(isolated, isolated.topic_events, sent, [])
    proc = aggregator(isolated, "corpus").start()
    try:
        letters = await read_topic(isolated, isolated.topic_deadletter, lambda rs: len(rs) >= len(CORPUS), 120)
    finally:
        proc.stop()
    assert {orjson.loads(r.value)["service"] for r in letters} == {"aggregator"}
    wrong = check_letters(tally, "events", letters, sent, expected)
    assert not wrong, wrong[:5]
    assert len(letters) == len(CORPUS)


async def test_every_hostile_event_on_the_ingest_topic_is_dead_lettered_with_its_reason(
    isolated: Settings, tally: Tally
) -> None:
    topic = await add_kafka_source(isolated, "corpus-kafka")  # its own topic: the source Kafka authenticates
    proc = collector(isolated, DX_COLLECTOR_INGEST_ENABLED="true").start()
    sent = [orjson.dumps(h.event) for h in CORPUS]
    try:
        await produce(isolated, topic, sent, [("dx-source", b"corpus-kafka")])
        letters = await read_topic(isolated, isolated.topic_deadletter, lambda rs: len(rs) >= len(CORPUS), 120)
    finally:
        proc.stop()
    wrong = check_letters(tally, "ingest", letters, sent, [h.expected for h in CORPUS])
    assert not wrong, wrong[:5]
    assert len(letters) == len(CORPUS)
