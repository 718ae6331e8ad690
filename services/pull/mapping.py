"""From fetched records to events (pure): a connector's mapping picks the event's fields out of each record, and the
result goes through the import format's row parser (dx/importer.py `parse_row`), so a pulled record is checked by
the same rules as an imported row and a pushed event (schema v1, catalog, hierarchy at `observed_at`).

`event_id` = uuid5(connector namespace, connector | the identity paths' values): the same record fetched again is
the same event, so the aggregator counts it once however many runs see it.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from dx.importer import ParsedRow, RowError, parse_row
from services.pull.config import Mapping
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy

NAMESPACE = uuid.UUID("6f1d2a7e-93c4-4b8e-a51f-0c7d3e9b2f64")
_COLUMN = {"observed_at": "date"}  # event field → import-format column


class PathError(LookupError):
    """A dotted path that does not lead anywhere in the record."""


def pick(record: Any, path: str) -> Any:
    """`a.b.0.c` in nested dicts and lists; '' is the record itself."""
    value = record
    for part in path.split(".") if path else []:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            raise PathError(f"no {path!r} in the record")
    return value


@dataclass(frozen=True)
class Mapped:
    """One record's outcome: the event to send, or its errors; `original` is the record as fetched (JSON)."""

    number: int
    original: bytes
    event: dict[str, Any] | None
    errors: list[RowError]


def record_event_id(connector: str, mapping: Mapping, record: Any) -> str:
    values = [_plain(_maybe(record, p)) for p in mapping.identity_paths]
    identity = orjson.dumps([connector, *values], default=str, option=orjson.OPT_SORT_KEYS)
    return str(uuid.uuid5(NAMESPACE, identity.decode()))


def map_record(
    connector: str, mapping: Mapping, number: int, record: Any, catalog: Catalog, hierarchy: Hierarchy, now: datetime
) -> Mapped:
    original = orjson.dumps(record, default=str)
    row: dict[str, Any] = {_COLUMN.get(k, k): v for k, v in mapping.constants.items()}
    errors: list[RowError] = []
    for name, path in mapping.fields.items():
        try:
            row[_COLUMN.get(name, name)] = _plain(pick(record, path))
        except PathError as err:
            errors.append(RowError(number, name, f"missing_field: {err}"))
    if errors:
        return Mapped(number, original, None, errors)
    row["event_id"] = record_event_id(connector, mapping, record)
    parsed = parse_row(number, row, catalog, hierarchy, now)
    if isinstance(parsed, ParsedRow):
        return Mapped(number, original, parsed.event, [])
    return Mapped(number, original, None, parsed)


def _maybe(record: Any, path: str) -> Any:
    try:
        return pick(record, path)
    except PathError:
        return None


def _plain(value: Any) -> Any:
    """Database numerics come back as Decimal: whole ones as int, others as float (as JSON would give them)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
