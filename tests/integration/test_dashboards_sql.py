"""Every SQL query of the generated dashboards (panels, variables, annotations) runs on a migrated database as
Grafana's read-only role, with Grafana's macros expanded, and returns rows once the tables hold a little data; the
scorecard and the trajectory return the hand-computed rows of a seeded scenario; every data link's target
variables, resolved from a real row, open a dashboard whose queries run."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from services.dashboards import scorecard, units
from services.dashboards.build import build_all
from shared import names
from shared.settings import Settings
from testing.dashboards import Query, expand_sql, queries, time_range
from tests.support.dashboard_links import follow_links

NOW = datetime.now(UTC)
TZ = ZoneInfo(names.TIMEZONE)
INDICATOR, PROVINCE, COMMUNE = "gov.eid_users", "38", "14758"  # 14758 (Hàm Rồng) is in force under 38 since 2025-07
SATISFACTION = "gov.satisfaction"
BOARDS = build_all()
SQL = [(board, q) for board in BOARDS.values() for q in queries(board) if q.kind == "sql"]
# Every dashboard's variables as a user would set them (the units dashboard: the province, e-ID users).
VARIABLES = {"unit": PROVINCE, "indicator": INDICATOR, "milestone": "2030", "district": scorecard.ALL,
             "severity": "__all"}  # fmt: skip

# The scorecard scenario, milestone 2030: (commune, indicator, status, value). Former districts: 14758 and 14797
# were in Thành phố Thanh Hóa (380) before 2025-07-01, 14812 in Bỉm Sơn (381), 15853 in Thiệu Hóa (398).
CELLS = [
    ("14758", INDICATOR, "at_risk", 40), ("14758", SATISFACTION, "on_track", 80),
    ("14812", INDICATOR, "missed", 20), ("14812", SATISFACTION, "behind", 50),
    ("14797", INDICATOR, "on_track", 70), ("14797", SATISFACTION, "achieved", 95),
    ("15853", INDICATOR, "missed", 10), ("15853", SATISFACTION, "achieved", 90),
]  # fmt: skip

SEED = f"""
INSERT INTO current_values (indicator, unit, level, numerator, denominator, value, reporting_children,
                            children_in_force, coverage, last_observed_at, carried_from, reporting_carried)
VALUES ('{INDICATOR}', '{PROVINCE}', 'province', 40, 100, 40, 2, 166, 2.0 / 166, now() - interval '3 days', NULL, 1),
       ('{INDICATOR}', '{COMMUNE}', 'commune', 40, 100, 40, NULL, NULL, NULL, now() - interval '3 days', 3, NULL);
INSERT INTO daily_values (indicator, unit, day, value, numerator, denominator, coverage)
SELECT '{INDICATOR}', u, (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date - d, 40 - d, 40 - d, 100, NULL
FROM unnest(ARRAY['{PROVINCE}', '{COMMUNE}']) u, generate_series(1, 3) d;
INSERT INTO daily_values (indicator, unit, day, value, numerator, denominator, coverage)
VALUES ('{INDICATOR}', '{PROVINCE}', '2024-06-30', 20, 20, 100, NULL),
       ('{INDICATOR}', '{PROVINCE}', '2025-06-30', 35, 35, 100, NULL);
INSERT INTO target_status (indicator, unit, milestone, value, expected, target, projected, status, reason, stale,
                           last_observed_at, evaluated_at)
VALUES ('{INDICATOR}', '{PROVINCE}', '2025', 30, NULL, 50, NULL, 'missed', 'Không đạt', false, now(), now()),
       ('{INDICATOR}', '{PROVINCE}', '2030', 40, 55, 100, 70, 'at_risk', 'Dự báo 70%', false, now(), now());
INSERT INTO target_status (indicator, unit, milestone, value, expected, target, projected, status, reason, stale,
                           last_observed_at, evaluated_at)
SELECT c.indicator, c.unit, '2030', c.value, NULL, 100, NULL, c.status, '', false, now(), now()
FROM (VALUES {", ".join(f"('{u}', '{i}', '{s}', {v})" for u, i, s, v in CELLS)}) c (unit, indicator, status, value);
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


@pytest.fixture
async def grafana(seeded: Settings) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(seeded.pg_dsn("grafana"))
    try:
        yield conn
    finally:
        await conn.close()


async def run(
    conn: asyncpg.Connection, sql: str, variables: dict[str, str], board: Any = None, span: Any = None
) -> list[Any]:
    start, end = span or (time_range(board, NOW) if board else (NOW, NOW))
    return list(await conn.fetch(expand_sql(sql, variables, start, end)))


# Annotations are checked over the years a user zooms to (the Alerts dashboard's 7 days hold no reform date).
PLAN_YEARS = (datetime(2020, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC))


async def test_every_sql_query_returns_rows_as_the_grafana_role(grafana: asyncpg.Connection) -> None:
    empty: list[str] = []
    for board, q in SQL:
        span = PLAN_YEARS if q.where.startswith("annotation") else None
        if not await run(grafana, q.text, VARIABLES, board, span):
            empty.append(f"{q.dashboard} / {q.where}")
    assert not empty, f"queries without rows: {empty}"


async def test_the_annotations_mark_both_reforms_and_both_deadlines(grafana: asyncpg.Connection) -> None:
    board = BOARDS["dx-units.json"]
    notes = {q.where: q.text for q in queries(board) if q.where.startswith("annotation")}
    hierarchy = await run(
        grafana, notes["annotation Sắp xếp đơn vị hành chính (hierarchy changes)"], {}, span=PLAN_YEARS
    )
    assert [r["time"] for r in hierarchy] == [_at(date(2025, 1, 1)), _at(date(2025, 7, 1))]
    assert hierarchy[1]["text"].endswith(
        "01/07/2025: 166 xã theo danh mục mới; hết hiệu lực: 547 xã, 26 huyện"
    )  # 27 less Đông Sơn
    milestones = await run(grafana, notes["annotation Hạn mốc (milestones)"], {}, span=PLAN_YEARS)
    assert [r["time"] for r in milestones] == [_at(date(2025, 12, 31)), _at(date(2030, 12, 31))]
    transitions = await run(grafana, notes["annotation Cảnh báo (alert transitions)"], VARIABLES, board)
    assert [(r["tags"], r["text"]) for r in transitions] == [
        ("firing", "DxTargetAtRisk pending → firing: Có nguy cơ không đạt")
    ]


async def test_the_scorecard_lists_communes_worst_first_with_status_and_value(grafana: asyncpg.Connection) -> None:
    rows = await run(grafana, scorecard.scorecard_sql(), VARIABLES)
    columns = {ind.code: scorecard.column(ind) for ind in scorecard.indicators()}
    eid, sat = columns[INDICATOR], columns[SATISFACTION]
    got = [(r["unit_code"], r[scorecard.BEHIND_COLUMN], r[scorecard.CARRIED_COLUMN], r[eid], r[sat]) for r in rows]
    assert got == [
        ("14812", 2, 0, "20.0 · Không đạt", "50.0 · Chậm tiến độ"),  # the worst status, and two targets behind
        ("15853", 1, 0, "10.0 · Không đạt", "90.0 · Đã đạt"),
        ("14758", 1, 1, "40.0 · Có nguy cơ", "80.0 · Đúng tiến độ"),  # its e-ID value is carried from 3 predecessors
        ("14797", 0, 0, "70.0 · Đúng tiến độ", "95.0 · Đã đạt"),
    ]
    assert rows[2][scorecard.UNIT_COLUMN] == "Phường Hàm Rồng"
    former_city = await run(grafana, scorecard.scorecard_sql(), {**VARIABLES, "district": "380"})
    assert [r["unit_code"] for r in former_city] == ["14758", "14797"]
    assert await run(grafana, scorecard.scorecard_sql(), {**VARIABLES, "milestone": "2025"}) == []


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=TZ)


async def test_the_trajectory_draws_actuals_plan_projection_and_catalog_config(grafana: asyncpg.Connection) -> None:
    board = BOARDS["dx-units.json"]
    today = datetime.now(TZ).date()
    actual = await run(grafana, units.ACTUAL_SQL, VARIABLES, board)
    assert [(r["time"], r["Thực tế"]) for r in actual] == [
        (_at(date(2024, 6, 30)), 20), (_at(date(2025, 6, 30)), 35),
        *((_at(today - timedelta(days=d)), 40 - d) for d in (3, 2, 1)),
    ]  # fmt: skip
    planned = await run(grafana, units.PLANNED_SQL, VARIABLES, board)
    # the first observation (before the first deadline) is the baseline, then the 2025 and 2030 targets
    assert [(r["time"], r["Kế hoạch"]) for r in planned] == [
        (_at(date(2024, 6, 30)), 20), (_at(date(2025, 12, 31)), 50), (_at(date(2030, 12, 31)), 100),
    ]  # fmt: skip
    projection = await run(grafana, units.PROJECTION_SQL, VARIABLES, board)
    assert [(r["time"], r["Dự báo"]) for r in projection] == [
        (_at(today - timedelta(days=1)), 39), (_at(date(2030, 12, 31)), 70),
    ]  # fmt: skip
    (config,) = await run(grafana, units.CHART_CONFIG_SQL, VARIABLES, board)
    assert (config["unit"], config["Mục tiêu 2030"]) == ("suffix: %", 100)


async def test_the_unit_picker_lists_names_with_level_and_validity(grafana: asyncpg.Connection) -> None:
    unit_var = next(q for q in queries(BOARDS["dx-units.json"]) if q.where == "variable unit")
    rows = await run(grafana, unit_var.text, {})
    texts = [r["__text"] for r in rows]
    assert texts[0] == units.PROVINCE_TEXT == "Tỉnh Thanh Hóa · tỉnh · từ 01/01/2020 (38)"
    in_force = [t for t in texts if " · từ " in t]
    assert texts[: len(in_force)] == in_force and len(in_force) == 1 + 166  # in force first
    assert "Phường Hàm Rồng · xã · từ 01/07/2025 (14758)" in in_force
    assert "Phường Đông Thọ · xã · 01/01/2020–30/06/2025 (14758)" in texts  # the code's former unit
    assert "Huyện Đông Sơn · huyện · 01/01/2020–31/12/2024 (405)" in texts
    indicator_var = next(q for q in queries(BOARDS["dx-units.json"]) if q.where == "variable indicator")
    assert [r["__value"] for r in await run(grafana, indicator_var.text, {"unit": PROVINCE})] == [INDICATOR]


async def test_every_data_link_opens_a_dashboard_whose_queries_run(grafana: asyncpg.Connection) -> None:
    followed = await follow_links(grafana, BOARDS, lambda board: VARIABLES, NOW)
    assert {f.split(":")[0] for f in followed} == {"dx-overview", "dx-scorecard", "dx-units", "dx-alerts"}, followed
    assert "dx-scorecard:gov.eid_users" in followed and "dx-alerts:Địa bàn" in followed


async def test_the_grafana_role_cannot_read_source_credentials(db_settings: Settings) -> None:
    conn = await asyncpg.connect(db_settings.pg_dsn("grafana"))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT token_hash FROM sources")
    finally:
        await conn.close()


def test_every_query_kind_is_known() -> None:
    kinds = {q.kind for board in BOARDS.values() for q in queries(board)}
    assert kinds == {"sql", "promql"}, kinds
    assert all(isinstance(q, Query) for _, q in SQL)
