"""A re-imported row whose figures changed becomes a correction (`dx import`): each row's event is looked up, with
the corrections that followed it, among the events its source has applied. Unchanged: sent again as it is (counted
once). Changed: a correction of the last event of its chain, under an id derived from that event and the new figures
(importing the same changed file twice sends the same correction, counted once). Retracted: refused, with a reason.
"""

import uuid
from datetime import date
from typing import Any

from services.aggregator import sql
from services.collector.sources import AuthError, parse_authorization
from shared.adapters.postgres import connect
from shared.settings import Settings

NAMESPACE = uuid.UUID("5d1c3e1e-7f0c-4f8e-9a55-1f5d2b7c6a10")
FIGURES = ("numerator", "denominator", "value")

# The event in force at the end of each chain that starts at one of $2 (events of source $1).
HEADS = """
WITH RECURSIVE chain AS (
    SELECT a.event_id AS root, a.event_id, a.replaced_by, a.retracts, a.numerator, a.denominator, a.value, 0 AS step
    FROM applied_events a WHERE a.source = $1 AND a.event_id = ANY($2::uuid[])
    UNION ALL
    SELECT c.root, n.event_id, n.replaced_by, n.retracts, n.numerator, n.denominator, n.value, c.step + 1
    FROM chain c JOIN applied_events n ON n.source = $1 AND n.event_id = c.replaced_by
    WHERE c.step < 1000
)
SELECT root::text AS root, event_id::text AS event_id, retracts, numerator, denominator, value::float8 AS value
FROM chain WHERE replaced_by IS NULL
"""


async def source_of_token(settings: Settings, token: str) -> str | None:
    """The name of the source a token belongs to (the collector checks the secret), or None."""
    try:
        token_id, _ = parse_authorization(f"Bearer {token}")
    except (ValueError, AuthError):  # malformed: the collector answers 401 with the reason
        return None
    conn = await connect(settings)
    try:
        name: str | None = await conn.fetchval("SELECT name FROM sources WHERE token_id = $1", token_id)
    finally:
        await conn.close()
    return name


async def changes(
    settings: Settings, source: str, events: list[dict[str, Any]]
) -> tuple[list[dict[str, Any] | str], date | None]:
    """For each event: what to send (itself, or a correction of its chain's last event), or why not (a string);
    and the first day of the events still kept when months were pruned (docs/storage.md), else None. An event no
    earlier import sent carries `unseen`: true (for the report; not sent)."""
    conn = await connect(settings)
    try:
        rows = await conn.fetch(HEADS, source, [e["event_id"] for e in events])
        kept_from: date | None = await conn.fetchval(sql.KEPT_FROM)  # the aggregator's: after the latest month pruned
    finally:
        await conn.close()
    heads = {r["root"]: dict(r) for r in rows}
    return [decide(e, heads.get(str(uuid.UUID(e["event_id"])))) for e in events], kept_from


def decide(event: dict[str, Any], head: dict[str, Any] | None) -> dict[str, Any] | str:
    if head is None:
        return {**event, "unseen": True}
    if head["retracts"] is not None:
        return (f"retracted: event_id: event {event['event_id']} was retracted by {head['event_id']}; give the row "
                "a new event_id to send it again")  # fmt: skip
    if all(_same(event.get(k), head[k]) for k in FIGURES):
        return event
    figures = "|".join(str(event.get(k)) for k in FIGURES)
    new_id = uuid.uuid5(NAMESPACE, f"{head['event_id']}|{figures}")
    return {**event, "event_id": str(new_id), "corrects": head["event_id"]}


def _same(sent: Any, held: Any) -> bool:
    return (sent is None and held is None) or (sent is not None and held is not None and float(sent) == float(held))
