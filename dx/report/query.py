"""The report's reads: the rows `dx status` shows (the same query), the reporting unit's daily history, and when
the statuses were evaluated."""

from collections.abc import Sequence
from datetime import date, datetime

from dx.context import Context
from dx.report.model import Row
from dx.status import fetch_status
from shared.adapters.postgres import connect
from shared.domain.trajectory import History

HISTORY = "SELECT indicator, day, value::float8 AS value FROM daily_values WHERE unit = $1 AND day <= $2 ORDER BY 2"
EVALUATED = "SELECT max(evaluated_at) FROM target_status"


async def fetch_report_inputs(
    ctx: Context, unit: str, until: date
) -> tuple[Sequence[Row], dict[str, History], datetime | None]:
    rows = await fetch_status(ctx, None, None)
    conn = await connect(ctx.settings)
    try:
        history_rows = await conn.fetch(HISTORY, unit, until)
        evaluated_at = await conn.fetchval(EVALUATED)
    finally:
        await conn.close()
    series: dict[str, list[tuple[date, float]]] = {}
    for r in history_rows:
        series.setdefault(r["indicator"], []).append((r["day"], r["value"]))
    when: datetime | None = evaluated_at
    return rows, {code: History.of(points) for code, points in series.items()}, when
