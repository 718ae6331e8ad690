"""Rows and bytes of tables, for the figures of bounded storage (bench/README.md)."""

import asyncpg

from shared.settings import Settings

# What stays per event once its month is past the replay horizon (docs/storage.md): the aggregates and the floors
# `dx events prune` leaves; applied_events' kept months go too in their turn.
BEYOND_HORIZON = ("agg_buckets", "agg_snapshot_days", "period_values", "daily_values", "current_values",
                  "agg_snapshot_floor", "period_floor")  # fmt: skip


async def table_sizes(settings: Settings, tables: tuple[str, ...]) -> dict[str, dict[str, int]]:
    """Rows and bytes (heap, indexes and TOAST) of each table; a partitioned one's are its partitions'."""
    conn = await asyncpg.connect(settings.pg_dsn("owner"))
    try:
        out = {}
        for table in tables:
            rows = await conn.fetchval(f"SELECT count(*) FROM {table}")
            size = await conn.fetchval(  # a partitioned table has no storage of its own: its partitions have
                "SELECT pg_total_relation_size($1::regclass) + coalesce((SELECT sum(pg_total_relation_size(relid)) "
                "FROM pg_partition_tree($1::regclass) WHERE relid <> $1::regclass), 0)",
                table,
            )
            out[table] = {"rows": int(rows), "bytes": int(size)}
        return out
    finally:
        await conn.close()
