"""Least privilege per service (docs/database.md): each role can do exactly what the matrix below says on every
table of the schema, and every statement the matrix forbids is attempted as that role and refused by PostgreSQL."""

import asyncpg
import pytest

from shared.settings import Settings
from tests.support.db import fetch

DML = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})
READ = frozenset({"SELECT"})
VALUES = ("daily_values", "current_values", "period_values")
AGGREGATOR = ("applied_events", "consumer_offsets", "event_refusals", *VALUES, "agg_buckets", "agg_snapshot_days",
              "agg_snapshot_series", "agg_unit_tree", "agg_unit_lineage", "agg_increment_sources",
              "agg_rollup_pieces")  # fmt: skip
PRUNED = ("agg_snapshot_floor", "period_floor", "pruned_event_months")  # written by dx events prune
ALERTER = ("target_status", "alerts", "alert_history", "alerter_lease")
PULL = ("pull_connectors", "pull_files", "pull_runs")
SERVICES: dict[str, dict[str, frozenset[str]]] = {
    "collector": {"sources": READ},
    "aggregator": {**dict.fromkeys(AGGREGATOR, DML), **dict.fromkeys(PRUNED, READ), "units": READ},
    "alerter": {**dict.fromkeys((*VALUES, "consumer_offsets"), READ), **dict.fromkeys(ALERTER, DML)},
    "pull": dict.fromkeys(PULL, DML),
}
NOT_FOR_GRAFANA = {"sources", "alerter_lease", "schema_migrations"}


async def tables(settings: Settings) -> list[str]:
    rows = await fetch(settings, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
    return [r["tablename"] for r in rows]


def expected(role: str, table: str) -> frozenset[str]:
    if role in SERVICES:
        return SERVICES[role].get(table, frozenset())
    if role == "app":  # the operators' dx: rows of every table the migrations created
        return frozenset() if table == "schema_migrations" else DML
    assert role == "grafana"
    return frozenset() if table in NOT_FOR_GRAFANA else READ


def attempt(privilege: str, table: str, column: str) -> str:
    """A statement that needs exactly `privilege` on `table` and changes nothing (permission is checked first)."""
    return {
        "SELECT": f"SELECT 1 FROM {table} LIMIT 0",
        "INSERT": f"INSERT INTO {table} DEFAULT VALUES",
        "UPDATE": f"UPDATE {table} SET {column} = {column} WHERE false",
        "DELETE": f"DELETE FROM {table} WHERE false",
    }[privilege]


@pytest.mark.parametrize("role", ["collector", "aggregator", "alerter", "pull", "app", "grafana"])
async def test_a_role_may_do_what_the_matrix_allows_and_each_forbidden_statement_is_refused(
    db_settings: Settings, role: str
) -> None:
    names = await tables(db_settings)
    assert set(SERVICES["aggregator"]) | set(SERVICES["alerter"]) | set(PULL) <= set(names)
    first = {r["table_name"]: r["column_name"] for r in await fetch(db_settings,
             "SELECT DISTINCT ON (table_name) table_name, column_name FROM information_schema.columns "
             "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position")}  # fmt: skip
    user = db_settings.pg_user if role == "app" else getattr(db_settings, f"pg_{role}_user")
    rows = await fetch(db_settings, "SELECT t, p, has_table_privilege($1, t, p) AS ok FROM unnest($2::text[]) AS t, "
                       "unnest($3::text[]) AS p", user, names, sorted(DML))  # fmt: skip
    granted = {(r["t"], r["p"]) for r in rows if r["ok"]}
    assert granted == {(t, p) for t in names for p in expected(role, t)}

    conn = await asyncpg.connect(db_settings.pg_dsn(role))
    refused = []
    try:
        # dx_grafana's sessions are read-only by default, which the role itself may switch off: the grants must
        # refuse the statement on their own
        await conn.execute("SET default_transaction_read_only = off")
        for table in names:
            for privilege in sorted(DML - expected(role, table)):
                tx = conn.transaction()
                await tx.start()
                try:
                    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
                        await conn.execute(attempt(privilege, table, first[table]))
                    refused.append((table, privilege))
                finally:
                    await tx.rollback()
        if role != "app":
            return
        for ddl in ("CREATE TABLE dx_app_was_here (x int)", "DROP TABLE sources", "ALTER TABLE sources ADD x int"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(ddl)
            refused.append((ddl, "DDL"))
    finally:
        await conn.close()
    assert len(refused) == sum(len(DML - expected(role, t)) for t in names) + (3 if role == "app" else 0)
