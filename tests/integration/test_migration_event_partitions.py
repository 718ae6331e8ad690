"""Upgrading a database whose applied_events is one table (migrations 0003–0022) to the partitioned table of 0023
keeps every row as it was, in the month of its received_at, and every month from the oldest to this one exists."""

from datetime import UTC, date, datetime

import asyncpg

from shared.adapters.migrate import migration_files

SHAPE_0022 = """
CREATE TABLE applied_events (
    event_id uuid NOT NULL, indicator text NOT NULL, unit text NOT NULL, observed_at timestamptz NOT NULL,
    numerator bigint, denominator bigint, value numeric, source text NOT NULL, received_at timestamptz NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(), kafka_partition int, kafka_offset bigint, period text,
    corrects uuid, retracts uuid, replaced_by uuid, replaced_at timestamptz, operator text,
    series bigint GENERATED ALWAYS AS (dx_series(indicator, unit)) STORED,
    PRIMARY KEY (event_id, source)
);
CREATE INDEX applied_events_series ON applied_events (series, observed_at);
"""
COLUMNS = (
    "event_id, indicator, unit, observed_at, numerator, denominator, value, source, received_at, applied_at, "
    "kafka_partition, kafka_offset, period, corrects, retracts, replaced_by, replaced_at, operator, series"
)


async def test_migration_0023_moves_every_row_into_the_month_it_was_received_in(db_settings):
    conn = await asyncpg.connect(db_settings.pg_dsn("owner"))
    try:
        async with conn.transaction():  # back to the schema of 0022, with rows received over three months
            await conn.execute("ALTER TABLE agg_buckets DROP COLUMN floor_observed_at; "
                               "DROP TABLE applied_events, agg_snapshot_floor, period_floor, "
                               "pruned_event_months; DROP FUNCTION dx_event_partition(date)")  # fmt: skip
            await conn.execute(SHAPE_0022)
            rows = [
                ("00000000-0000-4000-8000-00000000000a", datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC), None),
                ("00000000-0000-4000-8000-00000000000b", datetime(2026, 1, 1, 0, 0, tzinfo=UTC), None),
                ("00000000-0000-4000-8000-00000000000c", datetime(2026, 3, 15, 8, 0, tzinfo=UTC),
                 "00000000-0000-4000-8000-00000000000b"),
            ]  # fmt: skip
            await conn.executemany(
                "INSERT INTO applied_events (event_id, indicator, unit, observed_at, numerator, denominator, source,"
                " received_at, kafka_partition, kafka_offset, retracts) VALUES ($1, 'gov.satisfaction', '14758',"
                " $2, 3, 10, 'test', $2, 0, 1, $3)",
                rows,
            )
            before = [tuple(r) for r in await conn.fetch(f"SELECT {COLUMNS} FROM applied_events ORDER BY 1")]
            await conn.execute(dict(migration_files())["0023_applied_events_partitioned"])
        after = [tuple(r) for r in await conn.fetch(f"SELECT {COLUMNS} FROM applied_events ORDER BY 1")]
        placed = {
            str(r["event_id"]): r["partition"]
            for r in await conn.fetch("SELECT event_id, tableoid::regclass::text AS partition FROM applied_events")
        }
        months = [r["relname"] for r in await conn.fetch(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'applied_events'::regclass ORDER BY 1")]  # fmt: skip
        key = await conn.fetchval(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'applied_events'::regclass "
            "AND contype = 'p'"
        )
    finally:
        await conn.close()
    assert after == before
    assert placed == {"00000000-0000-4000-8000-00000000000a": "applied_events_p202512",
                      "00000000-0000-4000-8000-00000000000b": "applied_events_p202601",
                      "00000000-0000-4000-8000-00000000000c": "applied_events_p202603"}  # fmt: skip
    today = datetime.now(UTC).date()
    expected, month = [], date(2025, 12, 1)
    while month <= today:
        expected.append(f"applied_events_p{month:%Y%m}")
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    assert months == expected
    assert key == "PRIMARY KEY (event_id, source, received_at)"
