"""Validation of incoming events, shared by the HTTP API and the ingest topic (pure: no I/O).

An event is checked against the schema (`EventV1`), the catalog and the hierarchy at its `observed_at`
(`check_event`), then the source's scope (`check_scope`). A valid event is published as sent, plus
`source` and `received_at`, keyed `indicator:unit`.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from shared.contracts.events import EventV1, accepted_value, reason_code, reasons
from shared.contracts.keys import pair_key
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.domain.timeutil import rfc3339
from shared.domain.validation import Scope, check_event, check_scope

MAX_ECHOED_ID = 64  # an unreadable event_id longer than this is not echoed back


@dataclass(frozen=True)
class Record:
    """One Kafka record to publish."""

    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class Rejection:
    index: int
    event_id: str | None
    errors: list[str]

    @property
    def reason(self) -> str:
        """The reason code counted in metrics: that of the first error."""
        return reason_code(self.errors[0])

    def as_json(self) -> dict[str, Any]:
        return {"index": self.index, "event_id": self.event_id, "errors": self.errors}


@dataclass
class Checked:
    """The outcome of a batch: records to publish (in order) and per-item rejections."""

    records: list[Record] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


class Intake:
    """Checks events for one source at one reception time."""

    def __init__(self, catalog: Catalog, hierarchy: Hierarchy) -> None:
        self.catalog = catalog
        self.hierarchy = hierarchy

    def errors(self, raw: Any, scope: Scope, now: datetime) -> list[str]:
        """Every reason `raw` cannot be accepted (empty when valid)."""
        try:
            event = EventV1.model_validate(raw, context={"now": now})
        except ValidationError as err:
            return reasons(err)
        errors = check_event(event, self.catalog, self.hierarchy)
        if errors:
            return errors
        forbidden = check_scope(event, scope, self.hierarchy)
        return [forbidden] if forbidden else []

    def check_batch(self, items: Sequence[Any], source: str, scope: Scope, now: datetime) -> Checked:
        out = Checked()
        received_at = rfc3339(now)
        for index, raw in enumerate(items):
            errors = self.errors(raw, scope, now)
            if errors:
                out.rejected.append(Rejection(index, echoed_event_id(raw), errors))
            else:
                out.records.append(accepted_record(raw, source, received_at))
        return out


def accepted_record(raw: dict[str, Any], source: str, received_at: str) -> Record:
    """The dx.events.v1 record: the event exactly as sent plus source and received_at, keyed indicator:unit."""
    return Record(pair_key(raw["indicator"], raw["unit"]), accepted_value(raw, source, received_at))


def echoed_event_id(raw: Any) -> str | None:
    """The event_id to echo in a rejection: the string sent, or None when it is unreadable."""
    if isinstance(raw, dict):
        value = raw.get("event_id")
        if isinstance(value, str) and len(value) <= MAX_ECHOED_ID:
            return value
    return None
