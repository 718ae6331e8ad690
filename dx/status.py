"""The status query behind `dx status` and `dx report`: targets from target_status, filtered, worst first.

Order: missed, at_risk, behind, no_data, on_track, achieved, not_applicable (shared.domain.status.STATUS_ORDER),
then indicator, then unit (province first), then milestone.
"""

import asyncio
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from aiokafka.errors import KafkaError

from dx.context import Context
from shared.adapters.backlog import aggregator_backlog
from shared.adapters.postgres import connect
from shared.domain.catalog import LEVEL_DEPTH
from shared.domain.hierarchy import Unit
from shared.domain.status import STATUS_ORDER, Status
from shared.domain.timeutil import local_date

# carried_from: predecessor units a reporting unit's value is carried from (0: its own observation);
# reporting_carried: a rollup's reporting units whose value is carried (docs/lineage.md). NULL where not known.
QUERY = """SELECT s.indicator, s.unit, s.milestone, s.value::float8, s.expected::float8, s.target::float8,
                  s.projected::float8, s.status, s.reason, s.stale, c.carried_from, c.reporting_carried
             FROM target_status s
             LEFT JOIN current_values c ON c.indicator = s.indicator AND c.unit = s.unit
            WHERE ($1::text IS NULL OR s.unit = $1) AND ($2::text IS NULL OR s.indicator = $2)
              AND ($3::text[] IS NULL OR s.status = ANY($3)) AND ($4::text IS NULL OR s.milestone = $4)"""


@dataclass(frozen=True)
class StatusFilter:
    unit: str | None = None
    indicator: str | None = None
    statuses: Collection[str] | None = None
    milestone: str | None = None
    level: str | None = None


async def fetch_status(ctx: Context, unit: str | None, indicator: str | None) -> list[dict[str, Any]]:
    """Every row of one unit and/or indicator (None: all), worst first."""
    return await fetch_filtered(ctx, StatusFilter(unit, indicator))


async def fetch_filtered(ctx: Context, f: StatusFilter) -> list[dict[str, Any]]:
    conn = await connect(ctx.settings)
    try:
        statuses = sorted(f.statuses) if f.statuses is not None else None
        rows = [dict(r) for r in await conn.fetch(QUERY, f.unit, f.indicator, statuses, f.milestone)]
    finally:
        await conn.close()
    if f.level is not None:
        today = local_date(datetime.now(UTC))
        rows = [r for r in rows if (u := unit_of(ctx, r["unit"], today)) is not None and u.level == f.level]
    return sort_rows(rows, ctx)


async def evaluated_at(ctx: Context) -> datetime | None:
    """When the alerter last evaluated the statuses (its clock)."""
    conn = await connect(ctx.settings)
    try:
        when: datetime | None = await conn.fetchval("SELECT max(evaluated_at) FROM target_status")
    finally:
        await conn.close()
    return when


async def backlog(ctx: Context, timeout: float = 10.0) -> int | None:
    """Messages of dx.events.v1 the aggregator has not applied yet (shared/adapters/backlog.py); None when Kafka
    cannot tell within `timeout` seconds."""
    conn = await connect(ctx.settings)
    try:
        s = ctx.settings
        return await asyncio.wait_for(aggregator_backlog(conn, s, s.aggregator_group, s.topic_events), timeout)
    except (KafkaError, TimeoutError, OSError):
        return None
    finally:
        await conn.close()


async def wait_settled(ctx: Context, seconds: float, poll: float = 2.0) -> int | None:
    """Wait up to `seconds` for the aggregator to apply every accepted event and then for an evaluation of the
    alerter after that; returns the backlog left (0: settled)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    left = await backlog(ctx)
    while left != 0 and loop.time() < deadline:
        await asyncio.sleep(poll)
        left = await backlog(ctx)
    if left != 0:
        return left
    cleared = await evaluated_at(ctx)
    while loop.time() < deadline:
        if await evaluated_at(ctx) != cleared:
            break
        await asyncio.sleep(poll)
    return 0


def unit_of(ctx: Context, code: str, today: date) -> Unit | None:
    """The unit a code names today, or in the last version that had it (a district after the reform)."""
    unit = ctx.hierarchy.resolve(code, today)
    if unit is not None:
        return unit
    earlier = [v.units[code] for v in ctx.hierarchy.versions if code in v.units]
    return earlier[-1] if earlier else None


def sort_rows(rows: list[dict[str, Any]], ctx: Context) -> list[dict[str, Any]]:
    today = local_date(datetime.now(UTC))

    def depth(code: str) -> int:
        unit = unit_of(ctx, code, today)
        return LEVEL_DEPTH[unit.level] if unit else 3

    return sorted(rows, key=lambda r: (STATUS_ORDER[Status(r["status"])], r["indicator"], depth(r["unit"]),
                                       r["unit"], r["milestone"]))  # fmt: skip
