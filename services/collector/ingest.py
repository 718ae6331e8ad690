"""The ingest topic path: raw events from source systems that speak Kafka, one JSON event per message.

The source is the `dx-source` header (a registered, active source, whose scope then applies) or, without the
header, `kafka-ingest` with no scope restriction: who may write the topic is Kafka's ACLs' business.
Valid events go to dx.events.v1, everything else to dx.deadletter.v1; a batch's offsets are committed only after
every output record was acknowledged. If Kafka or PostgreSQL fails, the same batch is retried in place.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from services.collector.body import DuplicateKeyError, check_duplicate_keys
from services.collector.deadletter import deadletter_record
from services.collector.intake import Intake, Record, accepted_record
from services.collector.metrics import CollectorMetrics
from services.collector.publisher import Publisher
from services.collector.settings import CollectorSettings
from services.collector.sources import NAME_PATTERN, Sources
from shared.adapters.retry import Backoff, until_done
from shared.contracts.events import reason_code
from shared.contracts.topics import SOURCE_HEADER
from shared.domain.timeutil import rfc3339
from shared.domain.validation import Scope

log = logging.getLogger(__name__)

INGEST_SOURCE = "kafka-ingest"


@dataclass(frozen=True)
class Outcome:
    topic: str
    record: Record
    source: str
    errors: list[str]


class IngestHandler:
    """Turns ingest records into output records: an event on dx.events.v1 or a dead letter."""

    def __init__(self, intake: Intake, sources: Sources, settings: CollectorSettings) -> None:
        self.intake = intake
        self.sources = sources
        self.settings = settings

    async def handle(self, record: ConsumerRecord[bytes, bytes], now: datetime) -> Outcome:
        source, scope, errors = await self._source(record.headers)
        raw: Any = None
        if not errors:
            raw, errors = self._decode(record.value)
        if not errors:
            try:
                errors = self.intake.errors(raw, scope, now)
            except Exception as err:  # a bug must not block the partition: dead-letter the message
                log.exception("validation failed on %s-%d@%d", record.topic, record.partition, record.offset)
                errors = [f"internal_error: event: {type(err).__name__}"]
        if not errors:
            return Outcome(self.settings.topic_events, accepted_record(raw, source, rfc3339(now)), source, [])
        dead = deadletter_record(
            key=record.key,
            value=record.value,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            errors=errors,
            now=now,
            max_original=self.settings.collector_ingest_max_message_bytes,
        )
        return Outcome(self.settings.topic_deadletter, dead, source, errors)

    async def _source(self, headers: Any) -> tuple[str, Scope, list[str]]:
        values = [v for k, v in headers or () if k == SOURCE_HEADER]
        if not values:
            return INGEST_SOURCE, Scope(), []
        name = values[-1].decode("utf-8", "replace") if isinstance(values[-1], bytes) else str(values[-1])
        if not NAME_PATTERN.fullmatch(name):
            return INGEST_SOURCE, Scope(), [f"unknown_source: {SOURCE_HEADER}: not a valid source name"]
        source = await self.sources.named(name)
        if source is None:
            return INGEST_SOURCE, Scope(), [f"unknown_source: {SOURCE_HEADER}: no source named {name!r}"]
        refusal = source.refusal(datetime.now(UTC))
        if refusal is not None:
            return name, Scope(), [f"forbidden: {SOURCE_HEADER}: source {name!r} is {refusal}"]
        return name, source.scope, []

    def _decode(self, value: bytes | None) -> tuple[Any, list[str]]:
        limit = self.settings.collector_ingest_max_message_bytes
        if not value:
            return None, ["invalid_json: value: the message is empty"]
        if len(value) > limit:
            return None, [f"too_large: value: the message is {len(value)} bytes; the limit is {limit}"]
        try:
            value.decode("utf-8")
        except UnicodeDecodeError as err:
            return None, [f"not_utf8: value: byte {err.start} is not valid UTF-8"]
        try:
            raw = orjson.loads(value)
            check_duplicate_keys(value)
        except orjson.JSONDecodeError as err:
            return None, [f"invalid_json: value: {err}"]
        except DuplicateKeyError as err:
            return None, [f"duplicate_key: value: ambiguous JSON: {err}"]
        except RecursionError:
            return None, ["invalid_json: value: nested too deeply"]
        return raw, []


class IngestConsumer:
    """getmany → outputs → publish (all acked) → commit; never auto-commits."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        handler: IngestHandler,
        publisher: Publisher,
        metrics: CollectorMetrics,
        batch: int,
    ) -> None:
        self.consumer = consumer
        self.handler = handler
        self.publisher = publisher
        self.metrics = metrics
        self.batch = batch
        self.backoff = Backoff("ingest batch", log)

    async def run(self) -> None:
        while True:
            polled = await self.consumer.getmany(timeout_ms=1000, max_records=self.batch)
            if polled:
                await self.process(polled)

    async def process(self, polled: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> None:
        records = [r for rs in polled.values() for r in rs]

        async def handle_and_publish() -> list[Outcome]:
            now = datetime.now(UTC)
            outcomes = [await self.handler.handle(r, now) for r in records]
            await self.publisher.publish([(o.topic, o.record) for o in outcomes])
            return outcomes

        # Kafka or PostgreSQL unavailable: keep the batch and retry it (shared/adapters/retry.py), never skip it
        outcomes = await until_done(handle_and_publish, self.backoff)
        self._count(outcomes)
        try:
            await self.consumer.commit({tp: rs[-1].offset + 1 for tp, rs in polled.items()})
        except KafkaError:  # e.g. a rebalance: the batch will be redelivered; event_ids make that harmless
            log.warning("ingest offsets not committed; the batch will be redelivered", exc_info=True)

    def _count(self, outcomes: list[Outcome]) -> None:
        for o in outcomes:
            self.metrics.received.labels(o.source).inc()
            if o.errors:
                reason = reason_code(o.errors[0])
                self.metrics.rejected.labels(reason, o.source).inc()
                self.metrics.deadlettered.labels(reason).inc()
            else:
                self.metrics.accepted.labels(o.source).inc()
