"""Upgrading a database that has snapshot events in agg_snapshots (migration 0006) keeps, per indicator, unit and
local day, the latest of them (observed_at, then event_id)."""

from datetime import UTC, date, datetime

import asyncpg

from shared.adapters.migrate import migration_files

A, B, C = ("00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b",
           "00000000-0000-4000-8000-00000000000c")  # fmt: skip


async def test_migration_0007_keeps_the_latest_snapshot_of_each_local_day(db_settings):
    files = dict(migration_files())
    conn = await asyncpg.connect(db_settings.pg_dsn("owner"))
    try:
        async with conn.transaction():  # back to the schema of 0006, with its rows
            await conn.execute("DROP TABLE agg_snapshot_days")
            create_0006 = files["0006_aggregator_snapshots"].split("INSERT INTO")[0]
            await conn.execute(create_0006)
            rows = [
                ("gov.eid_users", "14758", datetime(2025, 8, 20, 2, tzinfo=UTC), A, 1, 10),
                ("gov.eid_users", "14758", datetime(2025, 8, 20, 9, tzinfo=UTC), A, 5, 10),  # latest on 08-20 local
                ("gov.eid_users", "14758", datetime(2025, 8, 20, 9, tzinfo=UTC), B, 6, 10),  # … tie: greater id
                ("gov.eid_users", "14758", datetime(2025, 8, 20, 17, tzinfo=UTC), C, 9, 10),  # 00:00 on 08-21 local
                ("gov.eid_users", "14812", datetime(2025, 8, 19, 23, tzinfo=UTC), A, 2, 10),  # 06:00 08-20 local
            ]
            await conn.executemany(
                "INSERT INTO agg_snapshots (indicator, unit, observed_at, event_id, numerator, denominator)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                rows,
            )
            await conn.execute(files["0007_aggregator_snapshot_days"])
        got = await conn.fetch("SELECT unit, day, event_id::text, numerator FROM agg_snapshot_days ORDER BY unit, day")
        gone = await conn.fetchval("SELECT to_regclass('agg_snapshots')")
    finally:
        await conn.close()
    assert [tuple(r) for r in got] == [
        ("14758", date(2025, 8, 20), B, 6),
        ("14758", date(2025, 8, 21), C, 9),
        ("14812", date(2025, 8, 20), A, 2),
    ]
    assert gone is None
