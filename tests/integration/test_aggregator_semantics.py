"""The rollup semantics of docs/events-and-topics.md against the real broker and database: ratio of sums at every
level, the versioned hierarchy, out-of-order snapshots and the 365-day window of increments."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from services.aggregator.apply import refresh_increments
from shared.adapters.postgres import create_pool
from shared.domain.timeutil import local_date
from tests.integration.test_aggregator_harness import (
    LEVEL4,
    SATISFACTION,
    all_applied,
    current,
    event,
    fetch,
    running,
    send,
)  # fmt: skip
from tests.support.env import eventually


def pct(num: int, den: int) -> Decimal:
    return Decimal(100) * Decimal(num) / Decimal(den)


async def daily(settings, indicator: str, unit: str) -> dict[date, Decimal]:
    rows = await fetch(settings, "SELECT day, value FROM daily_values WHERE indicator=$1 AND unit=$2", indicator, unit)
    return {r["day"]: r["value"] for r in rows}


async def test_ratio_of_sums_at_commune_district_and_province(isolated, hierarchy):
    feb = "2025-02-10T09:00:00+07:00"
    aug = "2025-08-10T09:00:00+07:00"
    async with running(isolated):
        await send(isolated, [
            event(LEVEL4, "14755", feb, 1, 10), event(LEVEL4, "14758", feb, 90, 100),  # district 380
            event(LEVEL4, "14809", feb, 3, 4),  # district 381
            event(LEVEL4, "14758", aug, 5, 10), event(LEVEL4, "14812", aug, 45, 50),  # after the reform
        ])  # fmt: skip
        await eventually(lambda: all_applied(isolated, 5))
    assert (await current(isolated, LEVEL4, "14755"))["value"] == Decimal(10)
    city = await current(isolated, LEVEL4, "380")
    assert city["value"] == pct(91, 110) != Decimal(50)  # the average of 10 % and 90 % would be 50 %
    assert (city["numerator"], city["denominator"], city["level"]) == (91, 110, "district")
    in_force = len(hierarchy.children("380", date(2025, 3, 1)))
    assert (city["reporting_children"], city["children_in_force"]) == (2, in_force)
    assert city["coverage"] == 2 / in_force
    assert (await current(isolated, LEVEL4, "381"))["value"] == Decimal(75)
    province_feb = (await daily(isolated, LEVEL4, "38"))[date(2025, 2, 10)]
    assert province_feb == pct(94, 114)  # not the mean of 82.7 % and 75 %, nor of 10, 90 and 75 %
    # now: Hàm Rồng 14758 and 14812 report themselves (Hàm Rồng's own 5/10 supersedes what 14755 and Đông Thọ
    # carried); 14809's 3/4 is carried by its heir (docs/lineage.md)
    province = await current(isolated, LEVEL4, "38")
    assert province["value"] == pct(53, 64) and (province["numerator"], province["denominator"]) == (53, 64)
    assert (province["reporting_children"], province["children_in_force"]) == (3, 166)
    assert province["reporting_carried"] == 1
    assert (await current(isolated, LEVEL4, "14758"))["value"] == Decimal(50)  # its latest observation


async def test_dong_son_commune_rolls_up_by_the_hierarchy_at_the_observation_date(isolated):
    async with running(isolated):
        await send(isolated, [event(LEVEL4, "16381", "2024-06-01T10:00:00+07:00", 10, 20)])
        await eventually(lambda: all_applied(isolated, 1))
        await send(isolated, [event(LEVEL4, "16381", "2025-02-01T10:00:00+07:00", 30, 40)])
        await eventually(lambda: all_applied(isolated, 2))
        await send(isolated, [event(LEVEL4, "14758", "2025-07-02T10:00:00+07:00", 7, 10)])
        await eventually(lambda: all_applied(isolated, 3))
    assert (await current(isolated, LEVEL4, "405"))["value"] == Decimal(50)  # frozen: Đông Sơn ended 2024-12-31
    assert (await current(isolated, LEVEL4, "380"))["value"] == Decimal(75)  # the 2025-02 observation only
    assert (await current(isolated, LEVEL4, "16381"))["value"] == Decimal(75)
    assert list(await daily(isolated, LEVEL4, "405")) == [date(2024, 6, 1)]
    # the city's first day carries 16381's 2024 figure (docs/lineage.md), then its 2025-02 observation
    assert await daily(isolated, LEVEL4, "380") == {date(2025, 1, 1): Decimal(50), date(2025, 2, 1): Decimal(75)}
    # straight from the communes, no district after 2025-07-01: 14758's 7/10 and the 30/40 16381's heir carries
    province = await current(isolated, LEVEL4, "38")
    assert province["value"] == pct(37, 50) and province["reporting_children"] == 2
    history = await daily(isolated, LEVEL4, "38")
    assert history == {
        date(2024, 6, 1): Decimal(50),
        date(2025, 1, 1): Decimal(50),
        date(2025, 2, 1): Decimal(75),
        date(2025, 7, 1): Decimal(75),
        date(2025, 7, 2): pct(37, 50),
    }  # nothing resets on a change


async def test_late_older_snapshot_enters_history_only(isolated):
    async with running(isolated):
        await send(isolated, [event(LEVEL4, "14758", "2025-08-20T10:00:00+07:00", 50, 100),
                              event(LEVEL4, "14812", "2025-08-15T10:00:00+07:00", 80, 100)])  # fmt: skip
        await eventually(lambda: all_applied(isolated, 2))
        assert await daily(isolated, LEVEL4, "38") == {date(2025, 8, 15): Decimal(80), date(2025, 8, 20): Decimal(65)}
        await send(isolated, [event(LEVEL4, "14758", "2025-08-10T10:00:00+07:00", 10, 100)])
        await eventually(lambda: all_applied(isolated, 3))
    assert (await current(isolated, LEVEL4, "14758"))["value"] == Decimal(50)
    assert (await current(isolated, LEVEL4, "38"))["value"] == Decimal(65)
    assert await daily(isolated, LEVEL4, "14758") == {date(2025, 8, 10): Decimal(10), date(2025, 8, 20): Decimal(50)}
    assert await daily(isolated, LEVEL4, "38") == {
        date(2025, 8, 10): Decimal(10),
        date(2025, 8, 15): Decimal(45),  # (10 + 80) / 200: the late observation was in force that day
        date(2025, 8, 20): Decimal(65),
    }


async def test_increment_value_is_the_ratio_of_sums_over_the_trailing_365_days(isolated):
    today = local_date(datetime.now(UTC))

    def noon(days_ago: int) -> str:
        return f"{(today - timedelta(days=days_ago)).isoformat()}T12:00:00+07:00"

    async with running(isolated):
        await send(isolated, [
            event(SATISFACTION, "14758", noon(365), 1, 1),  # one day too old for today's window
            event(SATISFACTION, "14758", noon(364), 0, 1),
            event(SATISFACTION, "14758", noon(1), 1, 1), event(SATISFACTION, "14758", noon(1), 0, 1),
            event(SATISFACTION, "14812", noon(1), 3, 3),
        ])  # fmt: skip
        await eventually(lambda: all_applied(isolated, 5))
    commune = await current(isolated, SATISFACTION, "14758")
    assert (commune["numerator"], commune["denominator"], commune["value"]) == (1, 3, pct(1, 3))
    province = await current(isolated, SATISFACTION, "38")
    assert (province["numerator"], province["denominator"], province["value"]) == (4, 6, pct(4, 6))
    history = await daily(isolated, SATISFACTION, "14758")
    assert history[today - timedelta(days=365)] == Decimal(100)
    assert history[today - timedelta(days=1)] == pct(2, 4)  # the window ending that day still holds the old day


async def test_an_increment_whose_window_empties_goes_to_null(isolated, catalog, hierarchy):
    today = local_date(datetime.now(UTC))
    async with running(isolated):
        await send(
            isolated, [event(SATISFACTION, "14758", f"{(today - timedelta(days=1)).isoformat()}T12:00:00+07:00", 1, 2)]
        )
        await eventually(lambda: all_applied(isolated, 1))
    pool = await create_pool(isolated, "app")
    try:
        assert await refresh_increments(pool, catalog, hierarchy, today) == []  # nothing moved: nothing published
        changed = await refresh_increments(pool, catalog, hierarchy, today + timedelta(days=365))
    finally:
        await pool.close()
    assert {(r["unit"], r["value"]) for r in changed} == {("14758", None), ("38", None)}
    for unit in ("14758", "38"):
        row = await current(isolated, SATISFACTION, unit)
        assert (row["numerator"], row["denominator"], row["value"]) == (0, 0, None)


async def test_within_a_day_the_latest_observation_wins_whatever_the_order_of_arrival(isolated):
    low, high = "00000000-0000-4000-8000-000000000000", "ffffffff-ffff-4fff-bfff-ffffffffffff"
    afternoon, morning = "2025-08-20T15:00:00+07:00", "2025-08-20T09:00:00+07:00"
    async with running(isolated):
        await send(isolated, [event(LEVEL4, "14758", afternoon, 50, 100)])
        await eventually(lambda: all_applied(isolated, 1))
        await send(isolated, [event(LEVEL4, "14758", morning, 10, 100)])  # earlier the same day: not the latest
        await eventually(lambda: all_applied(isolated, 2))
        assert (await current(isolated, LEVEL4, "14758"))["value"] == Decimal(50)
        # the same instant as the afternoon one: the greater event_id wins, in one batch or in two
        await send(isolated, [event(LEVEL4, "14758", afternoon, 70, 100, event_id=high),
                              event(LEVEL4, "14758", afternoon, 20, 100, event_id=low)])  # fmt: skip
        await eventually(lambda: all_applied(isolated, 4))
    assert (await current(isolated, LEVEL4, "14758"))["value"] == Decimal(70)
    assert await daily(isolated, LEVEL4, "14758") == {date(2025, 8, 20): Decimal(70)}
    assert await daily(isolated, LEVEL4, "38") == {date(2025, 8, 20): Decimal(70)}


async def test_any_rfc3339_offset_is_stored_as_the_instant_it_names(isolated):
    # ±23:59 is valid RFC 3339 but beyond what PostgreSQL's timestamp parser takes (±15:59): staged as an instant
    sent = event(LEVEL4, "14758", "2025-08-21T23:59:00.5+23:59", 3, 4)
    sent["received_at"] = "2025-08-21T03:00:00-15:59"
    async with running(isolated):
        await send(isolated, [sent])
        await eventually(lambda: all_applied(isolated, 1))
    row = (await fetch(isolated, "SELECT observed_at, received_at FROM applied_events"))[0]
    assert row["observed_at"] == datetime(2025, 8, 21, 0, 0, 0, 500000, tzinfo=UTC)
    assert row["received_at"] == datetime(2025, 8, 21, 18, 59, tzinfo=UTC)
    assert await daily(isolated, LEVEL4, "14758") == {date(2025, 8, 21): Decimal(75)}  # 07:00:00.5 local
