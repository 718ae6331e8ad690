"""`dx dlq`: read dead letters (shared/contracts/deadletter.py) and re-drive selected ones through the collector.

Reading uses a throw-away consumer without a group: nothing is committed, every run starts at the beginning.
A replay re-drives a letter to its source's own ingest topic only, after proving its original is the message Kafka
holds at its origin and that its source is registered and not revoked (dx/dlq_origin.py); the collector then
checks it again as on its first arrival. A replay claims `(dlq topic, partition, offset)` in `dlq_replays` inside a
transaction that commits only once Kafka acknowledged the re-driven message: a second replay of the same record does
nothing. (Should the commit fail after the send, a later replay sends the message again; event_id dedup downstream
makes that harmless.)
"""

import base64
import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from dx.dlq_origin import Redrive, held_record, plan
from services.collector.sources import PgSources
from shared.adapters.kafka import client_kwargs, producer_kwargs
from shared.adapters.postgres import create_pool
from shared.contracts.events import reason_code
from shared.contracts.topics import source_of_topic
from shared.settings import Settings


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    timestamp: datetime
    key: bytes | None
    reason: str
    service: str = "?"
    source_topic: str | None = None
    source_partition: int | None = None
    source_offset: int | None = None
    original: bytes | None = None  # the exact bytes to re-drive; None when unknown or truncated
    source: str | None = None  # the source authenticated on arrival, as the letter says

    @property
    def ref(self) -> str:
        return f"{self.partition}:{self.offset}"

    @property
    def code(self) -> str:
        return reason_code(self.reason)

    def preview(self, width: int = 60) -> str:
        if self.original is None:
            return "(original not kept)"
        text = self.original.decode("utf-8", errors="replace").replace("\n", " ")
        return text if len(text) <= width else text[: width - 1] + "…"


def parse_record(partition: int, offset: int, timestamp_ms: int, key: bytes | None, value: bytes | None) -> DeadLetter:
    """A dead-letter record; an unreadable one is still listed (reason `unreadable_deadletter`), never replayed."""
    moment = datetime.fromtimestamp(timestamp_ms / 1000, UTC)
    try:
        doc: dict[str, Any] = orjson.loads(value or b"")
        if not isinstance(doc, dict):
            raise ValueError("not an object")
    except ValueError:
        return DeadLetter(partition, offset, moment, key, "unreadable_deadletter: record: not the dead-letter JSON")
    return DeadLetter(
        partition,
        offset,
        moment,
        key,
        str(doc.get("reason") or "unknown: record: no reason"),
        str(doc.get("service") or "?"),
        doc.get("source_topic"),
        doc.get("source_partition"),
        doc.get("source_offset"),
        _original(doc),
        doc["source"] if isinstance(doc.get("source"), str) else None,
    )


def _original(doc: dict[str, Any]) -> bytes | None:
    if doc.get("original_truncated"):
        return None
    if isinstance(doc.get("original_b64"), str):
        try:
            return base64.b64decode(doc["original_b64"], validate=True)
        except (binascii.Error, ValueError):
            return None
    return doc["original"].encode() if isinstance(doc.get("original"), str) else None


async def _partitions(settings: Settings, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(p["partition"] for t in described if t["topic"] == topic for p in t["partitions"])


async def read_topic(settings: Settings, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of `topic` from the beginning to the end offsets seen at the start; no group, no commits."""
    tps = [TopicPartition(topic, p) for p in await _partitions(settings, topic)]
    if not tps:
        return []
    consumer = AIOKafkaConsumer(  # read_committed: the collector writes in transactions; aborted records are not
        **client_kwargs(settings), group_id=None, enable_auto_commit=False, isolation_level="read_committed"
    )
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        records: list[ConsumerRecord[bytes, bytes]] = []
        pending = [tp for tp in tps if await consumer.position(tp) < end[tp]]
        while pending:
            for batch in (await consumer.getmany(*pending, timeout_ms=1000)).values():
                records += batch
            pending = [tp for tp in pending if await consumer.position(tp) < end[tp]]
        return records
    finally:
        await consumer.stop()


async def read_deadletters(settings: Settings) -> list[DeadLetter]:
    """Every dead letter, oldest first."""
    records = await read_topic(settings, settings.topic_deadletter)
    letters = [parse_record(r.partition, r.offset, r.timestamp, r.key, r.value) for r in records]
    return sorted(letters, key=lambda d: (d.timestamp, d.partition, d.offset))


class SelectionError(ValueError):
    """The offsets given do not name dead letters unambiguously."""


def parse_offset(text: str) -> tuple[int | None, int]:
    """`P:N` (partition and offset) or `N` (offset in whichever partition has it)."""
    partition, _, offset = text.rpartition(":")
    try:
        return (int(partition) if partition else None), int(offset)
    except ValueError:
        raise SelectionError(f"bad offset {text!r}: expected PARTITION:OFFSET or OFFSET") from None


def select(
    letters: Sequence[DeadLetter], offsets: Iterable[str] = (), reason: str | None = None, everything: bool = False
) -> list[DeadLetter]:
    """Dead letters named by offsets (and/or all of them), filtered by reason code."""
    named = list(offsets)
    chosen = list(letters) if everything else []
    for text in named:
        partition, offset = parse_offset(text)
        matches = [d for d in letters if d.offset == offset and partition in (None, d.partition)]
        if not matches:
            raise SelectionError(f"no dead letter at {text}")
        if len(matches) > 1:
            raise SelectionError(f"offset {offset} exists in partitions {[d.partition for d in matches]}: use P:N")
        chosen += [m for m in matches if m not in chosen]
    if reason is not None:
        chosen = [d for d in (chosen if everything or named else letters) if d.code == reason]
    return chosen


@dataclass
class ReplayResult:
    replayed: list[DeadLetter] = field(default_factory=list)
    already: list[DeadLetter] = field(default_factory=list)
    refused: list[tuple[DeadLetter, str]] = field(default_factory=list)


def refusal(letter: DeadLetter, settings: Settings) -> str | None:
    """Why a dead letter cannot be re-driven whatever Kafka holds, or None."""
    ingest = letter.source_topic == settings.topic_ingest or source_of_topic(
        settings.topic_ingest, letter.source_topic or ""
    )
    if not ingest and letter.source_topic != settings.topic_events:
        return f"source topic {letter.source_topic!r} is neither an ingest topic nor {settings.topic_events}"
    if letter.original is None:
        return "the original bytes were not kept (truncated or missing)"
    return None


async def replayed_refs(settings: Settings) -> set[tuple[int, int]]:
    """(partition, offset) of the dead letters already replayed."""
    pool = await create_pool(settings, "app", max_size=1)
    try:
        rows = await pool.fetch(
            "SELECT dlq_partition, dlq_offset FROM dlq_replays WHERE dlq_topic = $1", settings.topic_deadletter
        )
        return {(r["dlq_partition"], r["dlq_offset"]) for r in rows}
    finally:
        await pool.close()


_CLAIM = (
    "INSERT INTO dlq_replays (dlq_topic, dlq_partition, dlq_offset, source_topic, reason) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING true"
)
_SENT = (
    "UPDATE dlq_replays SET replayed_partition = $4, replayed_offset = $5 "
    "WHERE dlq_topic = $1 AND dlq_partition = $2 AND dlq_offset = $3"
)


async def replay(settings: Settings, letters: Sequence[DeadLetter]) -> ReplayResult:
    """Re-drive each letter, once ever, through its source's own ingest topic (dx/dlq_origin.py), or say why not."""
    result = ReplayResult()
    pool = await create_pool(settings, "app", max_size=1)
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    reader = AIOKafkaConsumer(
        **client_kwargs(settings), group_id=None, enable_auto_commit=False, isolation_level="read_committed"
    )
    await producer.start()
    await reader.start()
    try:
        sources, partitions = PgSources(pool), dict[str, list[int]]()
        for letter in letters:
            redrive = await _redrive(letter, settings, sources, reader, partitions)
            if isinstance(redrive, str):
                result.refused.append((letter, redrive))
                continue
            where = (settings.topic_deadletter, letter.partition, letter.offset)
            async with pool.acquire() as conn, conn.transaction():
                if not await conn.fetchval(_CLAIM, *where, redrive.topic, letter.reason):
                    result.already.append(letter)
                    continue
                meta = await producer.send_and_wait(
                    redrive.topic, redrive.value, key=redrive.key, headers=redrive.headers
                )
                await conn.execute(_SENT, *where, meta.partition, meta.offset)
            result.replayed.append(letter)
    finally:
        await reader.stop()
        await producer.stop()
        await pool.close()
    return result


async def _redrive(
    letter: DeadLetter,
    settings: Settings,
    sources: PgSources,
    reader: AIOKafkaConsumer,
    partitions: dict[str, list[int]],
) -> Redrive | str:
    """What to send for `letter`, or why nothing: a source that cannot send any more (unknown, revoked, without its
    own topic) gets nothing re-driven."""
    why = refusal(letter, settings)
    if why is not None:
        return why
    topic = letter.source_topic or ""
    if topic not in partitions:
        partitions[topic] = await _partitions(settings, topic)
    held = await held_record(reader, topic, partitions[topic], letter.source_partition, letter.source_offset)
    redrive = plan(letter, held, settings)
    if isinstance(redrive, str):
        return redrive
    source = await sources.by_name(redrive.source)
    if source is None:
        return f"no source named {redrive.source!r}"
    if source.revoked_at is not None:
        return f"source {redrive.source!r} is revoked: its letters stay dead"
    if redrive.topic not in await reader.topics():
        return f"source {redrive.source!r} has no ingest topic {redrive.topic} (dx sources add --kafka creates one)"
    return redrive
