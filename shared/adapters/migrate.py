"""`dx db migrate`: versioned plain-SQL migrations under a PostgreSQL advisory lock, then reference data.

Why plain SQL and not a migration tool: the schema is a handful of tables, the SQL is what reviewers read,
and a transaction-scoped advisory lock makes two concurrent runs safe (the second waits, then finds nothing
to do). Each file runs in its own transaction together with its row in `schema_migrations`.
"""

from importlib import resources

import asyncpg

from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.settings import Settings

_LOCK_KEY = 0x64786D6F6E  # "dxmon"


def migration_files() -> list[tuple[str, str]]:
    """(version, sql) for every shipped migration, in order."""
    folder = resources.files("shared") / "migrations"
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    return [(f.name.removesuffix(".sql"), f.read_text(encoding="utf-8")) for f in files]


async def migrate(settings: Settings, catalog: Catalog, hierarchy: Hierarchy) -> list[str]:
    """Apply pending migrations and refresh reference data; returns the versions applied now."""
    conn = await asyncpg.connect(settings.pg_dsn("owner"))
    applied: list[str] = []
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
            for version, sql in migration_files():
                if version in done:
                    continue
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
                applied.append(version)
            await sync_reference_data(conn, catalog, hierarchy)
    finally:
        await conn.close()
    return applied


async def sync_reference_data(conn: asyncpg.Connection, catalog: Catalog, hierarchy: Hierarchy) -> None:
    """Mirror the hierarchy and the catalog into their tables (idempotent)."""
    await conn.execute("DELETE FROM units")
    await conn.copy_records_to_table(
        "units",
        records=[
            (
                u.code,
                u.valid_from,
                u.valid_to,
                u.level,
                u.kind,
                u.name,
                u.full_name,
                u.full_name_en,
                u.parent_code,
            )
            for u in hierarchy.all_units()
        ],
    )
    await conn.execute("DELETE FROM targets")
    await conn.execute("DELETE FROM indicators")
    await conn.executemany(
        "INSERT INTO indicators VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        [
            (
                i.code,
                i.pillar,
                catalog.pillars[i.pillar].vi,
                i.label_vi,
                i.label_en,
                i.measure.value,
                i.semantics.value,
                i.reported_at,
                i.direction,
                i.display_unit,
                i.tolerance,
            )
            for i in catalog.indicators
        ],
    )
    await conn.executemany(
        "INSERT INTO targets VALUES ($1, $2, $3, $4, $5, $6)",
        [
            (i.code, t.milestone, t.value, t.kind.value, t.period_start, t.units_level)
            for i in catalog.indicators
            for t in i.milestones()
        ],
    )
