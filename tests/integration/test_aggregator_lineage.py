"""Values across the 2025 version changes through the aggregator and the real database (docs/lineage.md): nothing
resets, a reused code never inherits a stranger's data, carried values are marked, coverage counts communes, and the
communes add up to the province. Every expected value is worked out by hand in the comments."""

from datetime import UTC, date, datetime

from bench.workload import generate
from services.aggregator import store
from shared.adapters.postgres import create_pool
from shared.domain.rollup import value_spec
from shared.domain.timeutil import local_date
from tests.integration.test_aggregator_harness import LEVEL4, SATISFACTION, all_applied, current, event, running, send
from tests.integration.test_aggregator_semantics import daily, pct
from tests.support.db import fetch
from tests.support.env import eventually

EID = "gov.eid_users"
DISTRICTS_DONE = "soc.districts_dx_completed"


async def test_seven_districts_done_in_2024_stay_seven_when_one_re_reports_in_2025(isolated):
    districts = ["381", "382", "384", "385", "386", "387", "388"]  # untouched by the 2025-01-01 arrangement
    async with running(isolated):
        await send(isolated, [event(DISTRICTS_DONE, d, "2024-11-01T09:00:00+07:00", value=1) for d in districts])
        await eventually(lambda: all_applied(isolated, 7))
        await send(isolated, [event(DISTRICTS_DONE, "381", "2025-02-01T09:00:00+07:00", value=1)])
        await eventually(lambda: all_applied(isolated, 8))
    history = await daily(isolated, DISTRICTS_DONE, "38")
    assert history[date(2024, 11, 1)] == 7
    assert history[date(2025, 2, 1)] == 7  # 381 by itself, the six others carried from 2024 (was 1)
    row = (await fetch(isolated, "SELECT coverage FROM daily_values WHERE indicator=$1 AND unit='38' AND day=$2",
                       DISTRICTS_DONE, date(2025, 2, 1)))[0]  # fmt: skip
    assert row["coverage"] == 7 / 26  # 26 districts in force from 2025-01-01


async def test_province_satisfaction_at_2025_12_31_sums_365_days_across_both_changes(isolated):
    # 14809 Bắc Sơn (→ 14818 Quang Trung on 2025-07-01) and 14758 Đông Thọ (→ Hàm Rồng, which keeps its code)
    async with running(isolated):
        await send(isolated, [
            event(SATISFACTION, "14809", "2024-12-31T09:00:00+07:00", 50, 50),  # outside: 366 days before
            event(SATISFACTION, "14809", "2025-01-01T09:00:00+07:00", 1, 2),
            event(SATISFACTION, "14758", "2025-06-30T09:00:00+07:00", 3, 4),
            event(SATISFACTION, "14818", "2025-07-01T09:00:00+07:00", 5, 10),
            event(SATISFACTION, "14758", "2025-12-31T09:00:00+07:00", 1, 4),
        ])  # fmt: skip
        await eventually(lambda: all_applied(isolated, 5))
    # (1 + 3 + 5 + 1) / (2 + 4 + 10 + 4) = 10 / 20, not the 184 days since 2025-07-01 (6 / 14)
    assert (await daily(isolated, SATISFACTION, "38"))[date(2025, 12, 31)] == pct(10, 20)
    # Hàm Rồng on 2025-12-31: its own 1/4 and Đông Thọ's 3/4 of 2025-06-30
    assert (await daily(isolated, SATISFACTION, "14758"))[date(2025, 12, 31)] == pct(4, 8)
    # Quang Trung on 2025-07-01: its own 5/10 and Bắc Sơn's 1/2 (Bắc Sơn's 2024-12-31 is in the window too)
    assert (await daily(isolated, SATISFACTION, "14818"))[date(2025, 7, 1)] == pct(56, 62)


async def test_ham_rong_is_not_dong_tho_and_carries_its_predecessors_until_it_reports(isolated):
    async with running(isolated):
        await send(isolated, [
            event(EID, "14761", "2024-10-01T09:00:00+07:00", 10, 50),  # Nam Ngạn, via 14761 of 2025-01
            event(EID, "14755", "2025-05-01T09:00:00+07:00", 30, 50),  # Hàm Rồng of 2025-01
            event(EID, "14758", "2025-06-15T09:00:00+07:00", 80, 100),  # Đông Thọ
        ])  # fmt: skip
        await eventually(lambda: all_applied(isolated, 3))
        assert (await daily(isolated, EID, "14758"))[date(2025, 6, 15)] == 80  # Đông Thọ's own figure
        ham_rong = await current(isolated, EID, "14758")  # the Phường Hàm Rồng of today
        # the ratio of sums of its predecessors' latest: (10 + 30 + 80) / (50 + 50 + 100), not Đông Thọ's 80 %
        assert ham_rong["value"] == pct(120, 200) and (ham_rong["numerator"], ham_rong["denominator"]) == (120, 200)
        assert ham_rong["carried_from"] == 3
        await send(isolated, [event(EID, "14758", "2026-01-06T09:00:00+07:00", 45, 100)])
        await eventually(lambda: all_applied(isolated, 4))
    ham_rong = await current(isolated, EID, "14758")
    assert ham_rong["value"] == 45 and ham_rong["carried_from"] == 0  # its own observation wins
    province = await current(isolated, EID, "38")
    assert (province["numerator"], province["denominator"]) == (45, 100)
    assert (province["reporting_children"], province["reporting_carried"]) == (1, 0)


async def test_a_commune_with_one_unchanged_predecessor_keeps_its_value_across_2025_07_01(isolated):
    async with running(isolated):
        await send(isolated, [event(EID, "14848", "2025-03-01T09:00:00+07:00", 7, 10)])  # Xã Tam Chung
        await eventually(lambda: all_applied(isolated, 1))
    tam_chung = await current(isolated, EID, "14848")
    assert tam_chung["value"] == 70 and tam_chung["carried_from"] == 1
    province = await current(isolated, EID, "38")
    assert province["value"] == 70 and (province["reporting_children"], province["reporting_carried"]) == (1, 1)
    assert province["coverage"] == 1 / 166


async def test_coverage_of_27_reporting_communes_in_2024_is_27_of_558(isolated, hierarchy):
    first: dict[str | None, str] = {}
    for unit in hierarchy.units_in_force(date(2024, 6, 1), "commune"):
        first.setdefault(unit.parent_code, unit.code)
    assert len(first) == 27
    async with running(isolated):
        await send(isolated, [event(LEVEL4, c, "2024-06-01T09:00:00+07:00", 1, 2) for c in first.values()])
        await eventually(lambda: all_applied(isolated, 27))
    row = (await fetch(isolated, "SELECT value, coverage FROM daily_values WHERE indicator=$1 AND unit='38' AND day=$2",
                       LEVEL4, date(2024, 6, 1)))[0]  # fmt: skip
    assert row["value"] == 50 and row["coverage"] == 27 / 558  # was 27 / 27 districts: 100 %


async def test_the_166_communes_add_up_to_the_province_on_2026_01_01(isolated, catalog, hierarchy):
    day = date(2026, 1, 1)
    communes = [u.code for u in hierarchy.units_in_force(date(2024, 6, 1), "commune")]
    events = []
    for i, code in enumerate(communes):  # every commune of 2024, a third of them again in 2025-03 (divided ones too)
        events.append(event(LEVEL4, code, "2024-06-01T09:00:00+07:00", i % 7, 10))
        events.append(event(SATISFACTION, code, "2024-06-01T09:00:00+07:00", i % 5, 5))
        if i % 3 == 0 and hierarchy.resolve(code, date(2025, 3, 1)) is not None:
            events.append(event(LEVEL4, code, "2025-03-01T09:00:00+07:00", i % 4, 8))
            events.append(event(SATISFACTION, code, "2025-03-01T09:00:00+07:00", 1, 3))
    for code in ("16435", "15328", "14758"):  # divided communes (two without heir) and a successor reporting
        events.append(event(SATISFACTION, code, "2025-04-01T09:00:00+07:00", 2, 3))
    events.append(event(SATISFACTION, "14758", "2025-09-01T09:00:00+07:00", 4, 9))
    async with running(isolated):
        await send(isolated, events)
        await eventually(lambda: all_applied(isolated, len(events)))
    now = [u.code for u in hierarchy.units_in_force(day, "commune")]
    assert len(now) == 166
    pool = await create_pool(isolated, "owner", max_size=1)
    try:
        async with pool.acquire() as conn:
            for indicator in (LEVEL4, SATISFACTION):
                specs = {}
                for unit in [*now, "38"]:
                    spec = value_spec(hierarchy, catalog[indicator], unit, day)
                    assert spec is not None
                    specs[(indicator, unit, day)] = spec
                values = await store.compute(conn, specs, catalog)
                province = values[(indicator, "38", day)]
                parts = [values[(indicator, c, day)] for c in now if (indicator, c, day) in values]
                assert province.numerator == sum(p.numerator or 0 for p in parts)
                assert province.denominator == sum(p.denominator or 0 for p in parts)
                assert province.reporting_children == len(parts)
                assert province.denominator and province.denominator > 0
    finally:
        await pool.close()


async def test_the_bench_workload_with_pre_reform_history_gives_the_lineage_totals(isolated, hierarchy):
    """The SQL against the Python statement of the same rules (`snapshot_parts`), on 4,000 events of which 10 % were
    observed before the reform: every province total is exact."""
    now = datetime.now(UTC)
    workload = generate(hierarchy, 4000, seed=7, now=now)
    async with running(isolated):
        await send(isolated, [], raw=list(workload.messages()))
        await eventually(lambda: all_applied(isolated, len(workload.events)), timeout=120)
    expected = workload.province_totals(hierarchy, local_date(now))
    assert len(expected) == 7
    for indicator, (num, den, value) in expected.items():
        row = await current(isolated, indicator, "38")
        if value is None:
            assert (row["numerator"], row["denominator"]) == (num, den), indicator
        else:
            assert row["value"] == value, indicator
