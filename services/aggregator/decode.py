"""Messages of dx.events.v1 → events, or the reasons a message is poison (dead-letter records, per the brief)."""

import base64
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from shared.domain.catalog import Catalog
from shared.domain.events import AcceptedEvent, reason_code, reasons
from shared.domain.hierarchy import Hierarchy
from shared.domain.validation import check_event


def decode(value: bytes | None, catalog: Catalog, hierarchy: Hierarchy, now: datetime) -> AcceptedEvent | list[str]:
    """The event, or its errors (`reason: field: message`); the same rules as the collector's."""
    if value is None:
        return ["undecodable: value: empty message (tombstone)"]
    try:
        raw = orjson.loads(value)
    except orjson.JSONDecodeError as err:
        return [f"undecodable: value: not JSON: {err}"]
    if not isinstance(raw, dict):
        return ["undecodable: value: not a JSON object"]
    try:
        event = AcceptedEvent.model_validate(raw, context={"now": now})
    except ValidationError as err:
        return reasons(err)
    errors = check_event(event, catalog, hierarchy)
    return errors or event


def deadletter_value(
    errors: list[str], topic: str, partition: int, offset: int, original: bytes | None, now: datetime
) -> bytes:
    """The dx.deadletter.v1 value of a poison message."""
    raw = original or b""
    try:
        text: str | None = raw.decode("utf-8") if original is not None else None
    except UnicodeDecodeError:
        text = None
    record: dict[str, Any] = {
        "reason": errors[0],
        "reasons": errors,
        "source_topic": topic,
        "source_partition": partition,
        "source_offset": offset,
        "service": "aggregator",
        "dead_lettered_at": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "original": text,
        "original_b64": base64.b64encode(raw).decode("ascii"),
    }
    return orjson.dumps(record)


def code_of(errors: list[str]) -> str:
    return reason_code(errors[0])
