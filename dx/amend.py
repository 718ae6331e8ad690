"""`dx events correct|retract`: an operator amends any source's event. The amendment is checked here as the
collector checks an event (schema, catalog, hierarchy) and against the event it names (applied, in force), then
published to dx.events.v1 as that source's event with `operator` set; the aggregator judges and applies it like any
other (services/aggregator/amend.py), so it is exact, idempotent and in the audit trail."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from pydantic import ValidationError

from dx.context import Context
from shared.adapters.kafka import producer_kwargs
from shared.adapters.postgres import connect
from shared.contracts.events import AcceptedEvent, reasons
from shared.contracts.keys import pair_key
from shared.domain.timeutil import rfc3339
from shared.domain.validation import check_event

ORIGINAL = """
SELECT event_id::text AS event_id, indicator, unit, observed_at, period, retracts::text AS retracts,
       replaced_by::text AS replaced_by
FROM applied_events WHERE source = $1 AND event_id = $2
"""


class AmendError(ValueError):
    """The amendment cannot be sent: the reason, one line."""


@dataclass(frozen=True)
class Amendment:
    source: str
    original: uuid.UUID
    operator: str
    measures: dict[str, Any]  # numerator and denominator, or value; empty: a retraction
    observed_at: datetime | None = None  # a correction's; default: the original's


async def send(ctx: Context, a: Amendment) -> str:
    """Check and publish the amendment; returns its event_id."""
    conn = await connect(ctx.settings)
    try:
        row = await conn.fetchrow(ORIGINAL, a.source, a.original)
    finally:
        await conn.close()
    body = build(a, None if row is None else dict(row), datetime.now(UTC))
    try:
        event = AcceptedEvent.model_validate(body, context={"now": datetime.now(UTC)})
    except ValidationError as err:
        raise AmendError(reasons(err)[0]) from err
    problems = check_event(event, ctx.catalog, ctx.hierarchy)
    if problems:
        raise AmendError(problems[0])
    producer = AIOKafkaProducer(**producer_kwargs(ctx.settings))
    await producer.start()
    key = pair_key(event.indicator, event.unit)
    try:
        await producer.send_and_wait(ctx.settings.topic_events, orjson.dumps(body), key=key)
    finally:
        await producer.stop()
    return str(body["event_id"])


def build(a: Amendment, original: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    """The dx.events.v1 value of the amendment of `original` (its applied_events row), or AmendError."""
    if original is None:
        raise AmendError(f"unknown_original: no event {a.original} of source {a.source} has been applied")
    if original["replaced_by"] is not None:
        raise AmendError(f"original_replaced: event {a.original} was replaced by {original['replaced_by']}; amend that")
    if original["retracts"] is not None:
        raise AmendError(f"original_is_retraction: event {a.original} is a retraction")
    body: dict[str, Any] = {"event_id": str(uuid.uuid4()), "indicator": original["indicator"], "unit": original["unit"],
                            "source": a.source, "received_at": rfc3339(now), "operator": a.operator}  # fmt: skip
    if not a.measures:
        return {**body, "observed_at": rfc3339(now), "retracts": str(a.original)}
    observed = a.observed_at or original["observed_at"]
    period = {"period": original["period"]} if original["period"] and a.observed_at is None else {}
    return {**body, "observed_at": rfc3339(observed), **a.measures, **period, "corrects": str(a.original)}
