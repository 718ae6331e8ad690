"""The audit trail behind `dx events`: every event applied (ordinary, correction, retraction; replaced or in
force) and every copy the aggregator did not count (duplicate, refused amendment), from applied_events and
event_refusals (shared/migrations/0012, 0013)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from dx.context import Context
from shared.adapters.postgres import connect

COLUMNS = """a.source, a.event_id::text AS event_id, a.indicator, a.unit, a.observed_at, a.period,
       a.numerator, a.denominator, a.value::float8 AS value, a.received_at, a.applied_at, a.kafka_partition,
       a.kafka_offset, a.corrects::text AS corrects, a.retracts::text AS retracts, a.replaced_by::text AS replaced_by,
       a.replaced_at, a.operator"""

APPLIED = f"SELECT {COLUMNS} FROM applied_events a WHERE a.event_id = $1 ORDER BY a.source"

# The whole correction chain an event belongs to: back to the original, then forward through each replacement.
CHAIN = f"""
WITH RECURSIVE back AS (
    SELECT a.source, a.event_id, coalesce(a.corrects, a.retracts) AS amends, 0 AS depth
    FROM applied_events a WHERE a.source = $1 AND a.event_id = $2
    UNION ALL
    SELECT p.source, p.event_id, coalesce(p.corrects, p.retracts), b.depth + 1
    FROM back b JOIN applied_events p ON p.source = b.source AND p.event_id = b.amends
    WHERE b.depth < 1000
), root AS (
    SELECT source, event_id FROM back ORDER BY depth DESC LIMIT 1
), forward AS (
    SELECT a.source, a.event_id, a.replaced_by, 0 AS step
    FROM applied_events a JOIN root r ON (a.source, a.event_id) = (r.source, r.event_id)
    UNION ALL
    SELECT n.source, n.event_id, n.replaced_by, f.step + 1
    FROM forward f JOIN applied_events n ON n.source = f.source AND n.event_id = f.replaced_by
    WHERE f.step < 1000
)
SELECT {COLUMNS} FROM forward f JOIN applied_events a ON (a.source, a.event_id) = (f.source, f.event_id)
ORDER BY f.step
"""

REFUSED = """
SELECT source, event_id::text AS event_id, indicator, unit, reason, received_at, refused_at, kafka_partition,
       kafka_offset
FROM event_refusals WHERE event_id = $1 ORDER BY kafka_partition, kafka_offset
"""

CURRENT = """
SELECT value::float8 AS value, numerator, denominator, last_observed_at, updated_at
FROM current_values WHERE indicator = $1 AND unit = $2
"""

LISTED = f"""
SELECT * FROM (
    SELECT {COLUMNS}, NULL::text AS reason FROM applied_events a
    WHERE a.series = dx_series($1, $2) AND a.indicator = $1 AND a.unit = $2 AND a.received_at >= $3
    UNION ALL
    SELECT r.source, r.event_id::text, r.indicator, r.unit, NULL, NULL, NULL, NULL, NULL, r.received_at,
           r.refused_at, r.kafka_partition, r.kafka_offset, NULL, NULL, NULL, NULL, NULL, r.reason
    FROM event_refusals r
    WHERE r.indicator = $1 AND r.unit = $2 AND r.received_at >= $3
) x
ORDER BY received_at DESC, kafka_partition, kafka_offset DESC
LIMIT $4
"""


def kind(row: dict[str, Any]) -> str:
    """What a row of the trail is: correction, retraction, event; replaced; or the code of a refusal."""
    if row.get("reason"):
        return str(row["reason"]).split(":", 1)[0]
    what = "correction" if row["corrects"] else "retraction" if row["retracts"] else "event"
    if row.get("operator"):
        what += f" by operator {row['operator']}"
    return f"{what} (replaced)" if row["replaced_by"] else what


@dataclass(frozen=True)
class Trail:
    """One event id: its rows per source, the chain of each, the copies refused, the value now."""

    applied: list[dict[str, Any]]
    chains: dict[str, list[dict[str, Any]]]  # source → the chain, original first
    refused: list[dict[str, Any]]
    current: dict[tuple[str, str], dict[str, Any] | None]


async def show(ctx: Context, event_id: UUID) -> Trail:
    conn = await connect(ctx.settings)
    try:
        applied = [dict(r) for r in await conn.fetch(APPLIED, event_id)]
        chains = {a["source"]: [dict(r) for r in await conn.fetch(CHAIN, a["source"], event_id)] for a in applied}
        refused = [dict(r) for r in await conn.fetch(REFUSED, event_id)]
        current: dict[tuple[str, str], dict[str, Any] | None] = {}
        for row in [*applied, *refused]:
            key = (row["indicator"], row["unit"])
            if key not in current:
                found = await conn.fetchrow(CURRENT, *key)
                current[key] = None if found is None else dict(found)
    finally:
        await conn.close()
    return Trail(applied, chains, refused, current)


async def listed(ctx: Context, indicator: str, unit: str, since: datetime, limit: int) -> list[dict[str, Any]]:
    conn = await connect(ctx.settings)
    try:
        return [dict(r) for r in await conn.fetch(LISTED, indicator, unit, since, limit)]
    finally:
        await conn.close()


def change(row: dict[str, Any], before: dict[str, Any] | None) -> str:
    """What an applied row changed, in words: its measures, and the measures of the event it amended."""
    mine = measures(row)
    if row["retracts"]:
        return f"withdrew {measures(before) if before else row['retracts']}"
    if row["corrects"]:
        return f"{measures(before) if before else row['corrects']} → {mine}"
    return f"added {mine}"


def measures(row: dict[str, Any]) -> str:
    if row.get("numerator") is not None:
        return f"{row['numerator']}/{row['denominator']}"
    if row.get("value") is not None:
        return f"{row['value']:g}"
    return "—"
