"""Delivering a run's records: valid events through the collector's HTTP API with the connector's source token
(so the source's scope, rate limit and every validation rule apply, and 202 means Kafka acknowledged them), and
every rejected record, refused here or by the collector, to dx.deadletter.v1 with the connector, the record and
the reason."""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from dx.client import CollectorClient
from dx.importer import RowError, error_for_row
from dx.sending import batches
from services.pull.kinds.base import Tally
from services.pull.mapping import Mapped
from shared.contracts.deadletter import deadletter_headers, deadletter_value
from shared.contracts.events import reason_code

SERVICE = "pull"


def reason_text(error: RowError) -> str:
    """A row error as the collector's `code: field: message` string."""
    code, _, message = error.reason.partition(": ")
    return f"{code}: {error.field}: {message or '-'}"


def deadletter_topic_label(connector: str) -> str:
    """`source_topic` of a pulled record's dead letter: it came from a connector, not a topic (never replayed)."""
    return f"connector:{connector}"


class Delivery:
    def __init__(
        self,
        connector: str,
        client: CollectorClient,
        producer: AIOKafkaProducer,
        topic: str,
        batch: int,
        tally: Tally,
        counted: Callable[[str], None] = lambda reason: None,
    ) -> None:
        self.connector, self.client, self.producer, self.topic = connector, client, producer, topic
        self.batch, self.tally, self.counted = batch, tally, counted

    async def deliver(self, items: Sequence[Mapped], where: str) -> list[Mapped]:
        """Post the events; dead-letter what is refused; returns the refused items with their errors."""
        refused = [m for m in items if m.event is None]
        for chunk in batches([m for m in items if m.event is not None], self.batch):
            result = await self.client.post([m.event for m in chunk if m.event is not None])
            self.tally.accepted += result.accepted
            for item in result.rejected:
                m = chunk[int(item["index"])]
                errors = [error_for_row(m.number, e) for e in item.get("errors") or ["rejected: event: -"]]
                refused.append(Mapped(m.number, m.original, None, errors))
        await self.deadletter(refused)
        self.tally.rejected += len(refused)
        self.tally.errors += [(where, e) for m in refused for e in m.errors]
        return refused

    async def deadletter(self, refused: Sequence[Mapped]) -> None:
        """Every refused record, acknowledged by Kafka before the run may advance its cursor."""
        now = datetime.now(UTC)
        futures = []
        for m in refused:
            reasons = [reason_text(e) for e in m.errors]
            value = deadletter_value(
                reasons, service=SERVICE, topic=deadletter_topic_label(self.connector), partition=-1,
                offset=m.number, original=m.original, now=now,
            )  # fmt: skip
            key = self.connector.encode()
            futures.append(await self.producer.send(self.topic, value, key=key, headers=deadletter_headers(reasons)))
        for future in futures:
            await future
        for m in refused:
            self.counted(reason_code(reason_text(m.errors[0])))
