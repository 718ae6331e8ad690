"""Upgrading a database (migration 0015): stored bare unit codes become the unit they named last, and stored alerts
take the fingerprint of their stable identity, the one the alerter computes, so no alert resolves and re-pages."""

import asyncpg
import orjson

from services.alerter.rules import fingerprint
from shared.adapters.migrate import migration_files
from shared.settings import Settings

OLD_LABELS = {"alertname": "DxTargetBehind", "indicator": "gov.eid_users", "unit": "14758", "milestone": "2030",
              "severity": "warning", "pillar": "gov"}  # fmt: skip


async def test_migration_0015_names_units_and_rekeys_alerts_by_their_identity(db_settings: Settings) -> None:
    conn = await asyncpg.connect(db_settings.pg_dsn("owner"))
    try:
        await conn.executemany(
            "INSERT INTO sources (name, token_id, token_hash, units) VALUES ($1, $2, $3, $4)",
            [("ward", "000000000001", bytes(32), ["14758", "380", "405@2020-01-01", "77777"]),
             ("all", "000000000002", bytes(32), None)],
        )  # fmt: skip
        labels = orjson.dumps(OLD_LABELS).decode()
        await conn.execute(
            "INSERT INTO alerts (fingerprint, alertname, indicator, unit, milestone, labels, annotations, state,"
            " active_since, starts_at) VALUES ('0123456789abcdef', 'DxTargetBehind', 'gov.eid_users', '14758',"
            " '2030', $1::jsonb, '{}', 'firing', now(), now())",
            labels,
        )
        await conn.execute(
            "INSERT INTO alert_history (fingerprint, alertname, labels, annotations, from_state, to_state, at)"
            " VALUES ('0123456789abcdef', 'DxTargetBehind', $1::jsonb, '{}', 'pending', 'firing', now())",
            labels,
        )
        await conn.execute(dict(migration_files())["0015_scopes_and_fingerprints"])
        units = await conn.fetch("SELECT name, units FROM sources ORDER BY name")
        alert = await conn.fetchrow("SELECT fingerprint, state, labels FROM alerts")
        history = await conn.fetchval("SELECT fingerprint FROM alert_history")
    finally:
        await conn.close()
    assert [(r["name"], r["units"]) for r in units] == [
        ("all", None),
        ("ward", ["14758@2025-07-01", "380@2025-01-01", "405@2020-01-01", "77777"]),
    ]
    expected = fingerprint("DxTargetBehind", "gov.eid_users", "14758", "2030")
    assert (alert["fingerprint"], alert["state"], history) == (expected, "firing", expected)
