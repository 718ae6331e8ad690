"""The status query behind `dx status`: every target from target_status, worst first.

Order: missed, at_risk, behind, no_data, on_track, achieved, not_applicable (shared.domain.status.STATUS_ORDER),
then indicator, then unit (province first), then milestone.
"""

from datetime import UTC, datetime
from typing import Any

from dx.context import Context
from shared.adapters.postgres import connect
from shared.domain.catalog import LEVEL_DEPTH
from shared.domain.status import STATUS_ORDER, Status
from shared.domain.timeutil import local_date


async def fetch_status(ctx: Context, unit: str | None, indicator: str | None) -> list[dict[str, Any]]:
    conn = await connect(ctx.settings)
    try:
        rows = await conn.fetch(
            """SELECT indicator, unit, milestone, value::float8, expected::float8, target::float8,
                      projected::float8, status, reason, stale
                 FROM target_status WHERE ($1::text IS NULL OR unit = $1) AND ($2::text IS NULL OR indicator = $2)""",
            unit, indicator,
        )  # fmt: skip
    finally:
        await conn.close()
    return sort_rows([dict(r) for r in rows], ctx)


def sort_rows(rows: list[dict[str, Any]], ctx: Context) -> list[dict[str, Any]]:
    today = local_date(datetime.now(UTC))

    def depth(code: str) -> int:
        unit = ctx.hierarchy.resolve(code, today)
        return LEVEL_DEPTH[unit.level] if unit else 3

    return sorted(rows, key=lambda r: (STATUS_ORDER[Status(r["status"])], r["indicator"], depth(r["unit"]),
                                       r["unit"], r["milestone"]))  # fmt: skip
