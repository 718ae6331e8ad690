"""The ingest topics' path: raw events from source systems that speak Kafka, one JSON event per message.

A source system writes its own topic `dx.ingest.v1.<source>` (shared/contracts/topics.py `source_topic`), which only
its SASL principal may write (ACLs: deploy/kafka/sasl/acls.sh): the source is the topic's, so Kafka has authenticated
it, and that source must be registered and active; its scope then applies. A message on the bare `dx.ingest.v1`, or
whose `dx-source` header names another source, authenticates nobody and is dead-lettered `unauthenticated`.
Valid events go to dx.events.v1, everything else to dx.deadletter.v1 with the original headers and the authenticated
source; a batch's offsets are committed only after every output record was acknowledged. If Kafka or PostgreSQL
fails, the same batch is retried in place.
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
from services.collector.sources import Sources
from shared import names
from shared.adapters.lag import record_position_lag
from shared.adapters.retry import Backoff, until_done
from shared.contracts.events import reason_code
from shared.contracts.topics import SOURCE_HEADER, source_of_topic
from shared.domain.timeutil import rfc3339
from shared.domain.validation import Scope

log = logging.getLogger(__name__)

UNAUTHENTICATED = "(unauthenticated)"  # the metrics' source label when no source authenticated: never a source name


@dataclass(frozen=True)
class Outcome:
    topic: str
    record: Record
    source: str
    errors: list[str]


@dataclass(frozen=True)
class Origin:
    """Who sent an ingest message: the authenticated source (None: nobody), its scope, or why it is refused."""

    source: str | None
    scope: Scope
    errors: list[str]


class IngestHandler:
    """Turns ingest records into output records: an event on dx.events.v1 or a dead letter."""

    def __init__(self, intake: Intake, sources: Sources, settings: CollectorSettings) -> None:
        self.intake = intake
        self.sources = sources
        self.settings = settings

    async def handle(self, record: ConsumerRecord[bytes, bytes], now: datetime) -> Outcome:
        origin = await self.origin(record.topic, record.headers)
        scope, errors = origin.scope, origin.errors
        raw: Any = None
        if not errors:
            raw, errors = self._decode(record.value)
        if not errors:
            try:
                errors = self.intake.errors(raw, scope, now)
            except Exception as err:  # a bug must not block the partition: dead-letter the message
                log.exception("validation failed on %s-%d@%d", record.topic, record.partition, record.offset)
                errors = [f"internal_error: event: {type(err).__name__}"]
        label = origin.source or UNAUTHENTICATED
        if not errors and origin.source is not None:
            return Outcome(self.settings.topic_events, accepted_record(raw, origin.source, rfc3339(now)), label, [])
        dead = deadletter_record(
            key=record.key,
            value=record.value,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            errors=errors,
            now=now,
            max_original=self.settings.collector_ingest_max_message_bytes,
            source=origin.source,
            headers=list(record.headers or ()),
        )
        return Outcome(self.settings.topic_deadletter, dead, label, errors)

    async def origin(self, topic: str, headers: Any) -> Origin:
        """The source Kafka authenticated: the one whose topic this is (checked against the `dx-source` header)."""
        name = source_of_topic(self.settings.topic_ingest, topic)
        if name is None:
            why = f"{topic} identifies no source: write to {self.settings.topic_ingest}.<source> as its principal"
            return Origin(None, Scope(), [f"unauthenticated: topic: {why}"])
        claimed = [v for k, v in headers or () if k == SOURCE_HEADER]
        for value in claimed:
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            if text != name:
                why = f"the header names {text[:64]!r} but {topic} is the topic of {name!r}"
                return Origin(None, Scope(), [f"unauthenticated: {SOURCE_HEADER}: {why}"])
        source = await self.sources.named(name)
        if source is None:
            return Origin(None, Scope(), [f"unauthenticated: topic: no registered source named {name!r}"])
        refusal = source.refusal(datetime.now(UTC))
        if refusal is not None:
            return Origin(name, Scope(), [f"forbidden: topic: source {name!r} is {refusal}"])
        return Origin(name, source.scope, [])

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
            await record_position_lag(self.metrics.lag, names.GROUP_COLLECTOR_INGEST, self.consumer)

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
