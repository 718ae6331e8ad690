"""The value queries' lookup tables (migration 0009): the flattened pieces of every unit's history and the first
observed day of each snapshot series, kept by triggers whoever writes agg_snapshot_days."""

from datetime import UTC, date, datetime

import asyncpg

from services.aggregator import store
from shared.adapters.postgres import create_pool
from shared.domain.hierarchy import Hierarchy
from shared.settings import Settings

EID = "gov.eid_users"


async def test_the_flattened_pieces_are_the_tree_times_the_lineage_plus_each_units_own(
    db_settings: Settings, hierarchy: Hierarchy
) -> None:
    pool = await create_pool(db_settings)
    try:
        await store.sync_tree(pool, hierarchy)
        await store.sync_tree(pool, hierarchy)  # idempotent
        async with pool.acquire() as conn:
            pieces = await conn.fetchval("SELECT count(*) FROM agg_rollup_pieces")
            tree = await conn.fetchval(
                "SELECT count(*) FROM agg_unit_tree t JOIN agg_unit_lineage l"
                " ON l.version_from = t.version_from AND l.unit = t.unit"
            )
            own = await conn.fetchval("SELECT count(*) FROM agg_unit_lineage")
            province = await conn.fetch(
                "SELECT DISTINCT member FROM agg_rollup_pieces"
                " WHERE version_from = '2025-07-01' AND ancestor = '38' AND level = 'commune'"
            )
            ham_rong = await conn.fetch(
                "SELECT source FROM agg_rollup_pieces WHERE version_from = '2025-07-01' AND ancestor = '14758'"
                " AND member = '14758' AND level = 'commune'"
            )
    finally:
        await pool.close()
    assert pieces == tree + own
    assert len(province) == 166  # every commune of today under the province
    assert {"14758", "14755", "14761"} <= {r["source"] for r in ham_rong}  # its own code and its predecessors'


async def test_the_snapshot_series_keeps_the_earliest_day_whoever_writes_the_snapshot_days(
    db_settings: Settings,
) -> None:
    conn = await asyncpg.connect(db_settings.pg_dsn("owner"))
    try:
        insert = """INSERT INTO agg_snapshot_days (indicator, unit, day, observed_at, event_id, numerator, denominator)
                    VALUES ($1, $2, $3, $4, gen_random_uuid(), 1, 2)
                    ON CONFLICT (indicator, unit, day) DO UPDATE SET numerator = EXCLUDED.numerator"""
        await conn.execute(insert, EID, "14758", date(2025, 8, 20), datetime(2025, 8, 20, 3, tzinfo=UTC))
        await conn.execute(insert, EID, "14758", date(2025, 9, 1), datetime(2025, 9, 1, 3, tzinfo=UTC))
        await conn.execute(insert, EID, "14758", date(2025, 8, 20), datetime(2025, 8, 20, 4, tzinfo=UTC))  # update
        first = await conn.fetchval("SELECT first_day FROM agg_snapshot_series WHERE indicator = $1 AND unit = $2",
                                    EID, "14758")  # fmt: skip
        assert first == date(2025, 8, 20)
        await conn.execute(insert, EID, "14758", date(2024, 3, 5), datetime(2024, 3, 5, 3, tzinfo=UTC))  # earlier
        first = await conn.fetchval("SELECT first_day FROM agg_snapshot_series WHERE indicator = $1 AND unit = $2",
                                    EID, "14758")  # fmt: skip
        assert first == date(2024, 3, 5)
    finally:
        await conn.close()
