"""The collector's dead-letter records: the shared format (shared/contracts/deadletter.py) as a Kafka record."""

from datetime import datetime

from services.collector.intake import Record
from shared.contracts.deadletter import deadletter_headers, deadletter_value


def deadletter_record(
    *,
    key: bytes | None,
    value: bytes | None,
    topic: str,
    partition: int,
    offset: int,
    errors: list[str],
    now: datetime,
    max_original: int,
    source: str | None = None,
    headers: list[tuple[str, bytes]] | None = None,
) -> Record:
    doc = deadletter_value(
        errors, service="collector", topic=topic, partition=partition, offset=offset, original=value, now=now,
        max_original=max_original, source=source, headers=headers,
    )  # fmt: skip
    return Record(key, doc, tuple(deadletter_headers(errors)))
