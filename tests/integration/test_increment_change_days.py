"""The increment refresh's list of days to write (a bucket leaving the 365-day window, a hierarchy version starting)
holds only days on which the unit is in force: a day no value is computed for would stay listed on every refresh,
and once more such days than one refresh takes (CHANGE_DAYS_PER_REFRESH, oldest first) piled up, later days would
never get their daily rows."""

from datetime import UTC, date, datetime

import asyncpg

from services.aggregator import store
from shared.domain.hierarchy import Hierarchy
from shared.settings import Settings

SATISFACTION = "gov.satisfaction"  # an increment reported by communes, rolled up to districts and the province


async def test_only_days_on_which_the_unit_is_in_force_are_listed(db_settings: Settings, hierarchy: Hierarchy) -> None:
    conn = await asyncpg.connect(db_settings.pg_dsn("owner"))
    try:
        await conn.executemany(
            "INSERT INTO agg_buckets (indicator, unit, day, numerator, denominator, events, last_observed_at)"
            " VALUES ($1, $2, $3, 1, 1, 1, $4)",
            [
                (SATISFACTION, "380", date(2024, 7, 10), datetime(2024, 7, 10, 3, tzinfo=UTC)),  # Thanh Hóa city
                (SATISFACTION, "38", date(2024, 7, 10), datetime(2024, 7, 10, 3, tzinfo=UTC)),  # the province
            ],
        )
        days = await store.increment_change_days(
            conn, [SATISFACTION], date(2026, 12, 1), [v.valid_from for v in hierarchy.versions]
        )
    finally:
        await conn.close()
    # the bucket of 2024-07-10 leaves the window on 2025-07-10: the province has a row to write that day; the
    # district no longer exists then (abolished on 2025-07-01), so nothing is computed and nothing may be listed
    assert (SATISFACTION, "38", date(2025, 7, 10)) in days
    assert [d for d in days if d[1] == "380" and d[2] >= date(2025, 7, 1)] == []
