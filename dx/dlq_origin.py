"""Where `dx dlq replay` may re-drive a dead letter, and the proof that the letter is what it claims.

A replay goes to the source's own ingest topic `dx.ingest.v1.<source>`, never to dx.events.v1, so the collector
checks it again exactly as on its first arrival: the source is the topic's (registered, not revoked), then the
schema, the catalog, the hierarchy and the source's scope; a letter that was `forbidden` is refused again while its
scope forbids it. Because the operator's principal writes that topic, a letter is re-driven only when its original is
still the message Kafka holds at its origin (topic, partition, offset; read committed): a forged or altered dead
letter names bytes no source sent and is refused, and so is one whose original is past its topic's retention (the
source then sends it again). A letter from dx.events.v1 (dead-lettered by the aggregator) is re-driven as the event
the source sent, without `source` and `received_at`, to that source's topic.
"""

import asyncio
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared.contracts.events import SOURCE_NAME_PATTERN
from shared.contracts.topics import REPLAY_HEADER, source_of_topic, source_topic
from shared.settings import Settings

if TYPE_CHECKING:
    from dx.dlq import DeadLetter

ADDED_BY_COLLECTOR = ("source", "received_at")
_SOURCE_NAME = re.compile(SOURCE_NAME_PATTERN)


@dataclass(frozen=True)
class Redrive:
    """One message to send: the source it will be checked under, where, and what."""

    source: str
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


def plan(letter: "DeadLetter", held: ConsumerRecord[bytes, bytes] | None, settings: Settings) -> Redrive | str:
    """The re-drive of `letter`, given the record Kafka holds at its origin (None: none there), or why there is none."""
    where = f"{letter.source_topic} {letter.source_partition}:{letter.source_offset}"
    if letter.original is None:
        return "the original bytes were not kept (truncated or missing)"
    if held is None:
        return f"the original at {where} is no longer in Kafka: its origin cannot be proven; the source must resend it"
    if held.value != letter.original or held.key != letter.key:
        return f"it does not match the message at {where}: a forged or altered dead letter"
    replay_of = (REPLAY_HEADER, f"{settings.topic_deadletter}:{letter.partition}:{letter.offset}".encode())
    if letter.source_topic == settings.topic_events:
        return _from_events(held, settings, replay_of)
    source = source_of_topic(settings.topic_ingest, letter.source_topic or "")
    if source is None:
        return f"it came from {letter.source_topic}, which authenticates no source: the source must resend it"
    if letter.source != source:
        return f"it authenticated {letter.source!r}, not {source!r}: no source to replay it as"
    headers = [(k, v) for k, v in held.headers or () if k != REPLAY_HEADER]
    return Redrive(source, letter.source_topic or "", held.key, held.value, [*headers, replay_of])


def _from_events(held: ConsumerRecord[bytes, bytes], settings: Settings, replay_of: tuple[str, bytes]) -> Redrive | str:
    try:
        doc = orjson.loads(held.value)
    except orjson.JSONDecodeError:
        doc = None
    source = doc.get("source") if isinstance(doc, dict) else None
    if not isinstance(source, str) or not _SOURCE_NAME.fullmatch(source):
        return "its original is not an accepted event with a source: there is no source to replay it as"
    assert isinstance(doc, dict)
    sent = orjson.dumps({k: v for k, v in doc.items() if k not in ADDED_BY_COLLECTOR})
    return Redrive(source, source_topic(settings.topic_ingest, source), held.key, sent, [replay_of])


async def held_record(
    consumer: AIOKafkaConsumer, topic: str, partitions: list[int], partition: int | None, offset: int | None
) -> ConsumerRecord[bytes, bytes] | None:
    """The committed record Kafka holds at (topic, partition, offset), or None when there is none (any more);
    `partitions`: the topic's partitions (none: no such topic)."""
    if partition not in partitions or not isinstance(offset, int):
        return None
    tp = TopicPartition(topic, partition)
    consumer.assign([tp])
    start, end = (await consumer.beginning_offsets([tp]))[tp], (await consumer.end_offsets([tp]))[tp]
    if not start <= offset < end:
        return None
    consumer.seek(tp, offset)
    for _ in range(60):
        for record in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
            if record.offset >= offset:
                return record if record.offset == offset else None  # not there: aborted or compacted away
        if await consumer.position(tp) > offset:
            return None
        await asyncio.sleep(0)
    raise TimeoutError(f"could not read {topic} {partition}:{offset}")
