"""Every SQL query of the generated dashboards runs on a migrated database as Grafana's read-only role, with
Grafana's macros expanded, and returns rows once the aggregator's and alerter's tables hold a little data."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from services.dashboards.build import build_all
from shared.settings import Settings
from testing.dashboards import Query, expand_sql, queries, time_range

NOW = datetime.now(UTC)
INDICATOR, PROVINCE, COMMUNE = "gov.eid_users", "38", "14758"  # 14758 (Hàm Rồng) is in force under 38 since 2025-07
SQL = [(board, q) for board in build_all().values() for q in queries(board) if q.kind == "sql"]

SEED = f"""
INSERT INTO current_values (indicator, unit, level, numerator, denominator, value, reporting_children,
                            children_in_force, coverage, last_observed_at)
VALUES ('{INDICATOR}', '{PROVINCE}', 'province', 40, 100, 40, 1, 166, 1.0 / 166, now() - interval '3 days'),
       ('{INDICATOR}', '{COMMUNE}', 'commune', 40, 100, 40, NULL, NULL, NULL, now() - interval '3 days');
INSERT INTO daily_values (indicator, unit, day, value, numerator, denominator, coverage)
SELECT '{INDICATOR}', u, current_date - d, 40 - d, 40 - d, 100, NULL
FROM unnest(ARRAY['{PROVINCE}', '{COMMUNE}']) u, generate_series(1, 3) d;
INSERT INTO target_status (indicator, unit, milestone, value, expected, target, projected, status, reason, stale,
                           last_observed_at, evaluated_at)
VALUES ('{INDICATOR}', '{PROVINCE}', '2025', 30, NULL, 100, NULL, 'missed', 'Không đạt', false, now(), now()),
       ('{INDICATOR}', '{PROVINCE}', '2030', 40, 55, 100, 70, 'at_risk', 'Dự báo 70%', false, now(), now());
INSERT INTO alerts (fingerprint, alertname, indicator, unit, milestone, labels, annotations, state, active_since,
                    starts_at, last_sent_at)
VALUES ('f1', 'DxTargetAtRisk', '{INDICATOR}', '{PROVINCE}', '2030',
        jsonb_build_object('severity', 'warning', 'indicator', '{INDICATOR}', 'unit', '{PROVINCE}',
                           'unit_name', 'Tỉnh Thanh Hóa', 'milestone', '2030'),
        '{{"summary": "Có nguy cơ không đạt"}}', 'firing', now() - interval '1 hour', now(), now());
INSERT INTO alert_history (fingerprint, alertname, labels, annotations, from_state, to_state, starts_at, at)
SELECT fingerprint, alertname, labels, annotations, 'pending', 'firing', starts_at, now() - interval '1 hour'
FROM alerts;
INSERT INTO applied_events (event_id, indicator, unit, observed_at, numerator, denominator, source, received_at,
                            corrects, replaced_by)
VALUES ('00000000-0000-4000-8000-000000000001', '{INDICATOR}', '{COMMUNE}', now() - interval '2 days', 30, 100,
        'office', now() - interval '2 days', NULL, '00000000-0000-4000-8000-000000000002'),
       ('00000000-0000-4000-8000-000000000002', '{INDICATOR}', '{COMMUNE}', now() - interval '2 days', 40, 100,
        'office', now() - interval '1 day', '00000000-0000-4000-8000-000000000001', NULL);
INSERT INTO agg_unit_tree (version_from, ancestor, unit, child) VALUES ('2025-07-01', '{PROVINCE}', '{COMMUNE}',
                                                                        '{COMMUNE}')
ON CONFLICT DO NOTHING;
"""


@pytest.fixture
async def seeded(db_settings: Settings) -> AsyncIterator[Settings]:
    conn = await asyncpg.connect(db_settings.pg_dsn("owner"))
    try:
        await conn.execute(SEED)
    finally:
        await conn.close()
    yield db_settings


async def test_every_sql_query_returns_rows_as_the_grafana_role(seeded: Settings) -> None:
    conn = await asyncpg.connect(seeded.pg_dsn("grafana"))
    try:
        variables = {"unit": PROVINCE, "indicator": INDICATOR}
        empty: list[str] = []
        for board, q in SQL:
            start, end = time_range(board, NOW)
            rows = await conn.fetch(expand_sql(q.text, variables, start, end))
            if not rows:
                empty.append(f"{q.dashboard} / {q.where}")
        assert not empty, f"queries without rows: {empty}"
    finally:
        await conn.close()


async def test_variable_queries_offer_the_province_and_its_communes_with_names(seeded: Settings) -> None:
    board = build_all()["dx-units.json"]
    unit_var = next(q for q in queries(board) if q.where == "variable unit")
    conn = await asyncpg.connect(seeded.pg_dsn("grafana"))
    try:
        rows = await conn.fetch(expand_sql(unit_var.text, {}, NOW, NOW))
        indicator_var = next(q for q in queries(board) if q.where == "variable indicator")
        indicators = await conn.fetch(expand_sql(indicator_var.text, {"unit": PROVINCE}, NOW, NOW))
    finally:
        await conn.close()
    assert rows[0]["__value"] == PROVINCE and rows[0]["__text"] == "Tỉnh Thanh Hóa (38)"
    texts = {r["__value"]: r["__text"] for r in rows}
    assert texts[COMMUNE] == "—— Phường Hàm Rồng (14758)"
    assert len(rows) == 1 + 166  # the province and the communes in force today, no districts since 2025-07
    assert [r["__value"] for r in indicators] == [INDICATOR]


async def test_the_grafana_role_cannot_read_source_credentials(db_settings: Settings) -> None:
    conn = await asyncpg.connect(db_settings.pg_dsn("grafana"))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT token_hash FROM sources")
    finally:
        await conn.close()


def test_every_query_kind_is_known() -> None:
    kinds = {q.kind for board in build_all().values() for q in queries(board)}
    assert kinds == {"sql", "promql"}, kinds
    assert all(isinstance(q, Query) for _, q in SQL)
