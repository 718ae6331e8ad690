"""What the alerter judges equals what the pipeline stores (docs/judgement.md), against the real broker and database:
a value that drifts out of the 365-day window with no event, and figures stored under the period they describe."""

from datetime import UTC, date, datetime
from decimal import Decimal

from services.aggregator.apply import refresh_increments
from services.alerter.clock import FixedClock
from services.alerter.metrics import build_metrics
from services.alerter.rules import TargetRow
from services.alerter.service import Alerter
from services.alerter.settings import AlerterSettings
from shared.adapters.postgres import create_pool
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.settings import Settings
from tests.integration.test_aggregator_harness import all_applied, event, fetch, running, send
from tests.integration.test_alerter_evaluation import Outbox, Sink
from tests.support.env import eventually

SATISFACTION = "gov.satisfaction"
DTI = "overall.dti_rank"


async def judge(
    settings: Settings, catalog: Catalog, hierarchy: Hierarchy, now: datetime
) -> dict[tuple[str, str, str], TargetRow]:
    alerter_settings = AlerterSettings(**settings.model_dump())
    pool = await create_pool(alerter_settings)
    alerter = Alerter(alerter_settings, catalog, hierarchy, pool, Sink(), Outbox(), build_metrics(), FixedClock(now))
    try:
        rows = await alerter.evaluate(None, "periodic")
    finally:
        await pool.close()
    return {(r.indicator, r.unit, r.milestone): r for r in rows}


async def test_a_bucket_leaving_the_window_with_no_event_is_in_the_history_the_alerter_judges(
    isolated: Settings, catalog: Catalog, hierarchy: Hierarchy
) -> None:
    # 100/100 on 2024-04-01 and 85/100 on 2025-03-10: from 2025-04-01 the window holds only the 85/100
    async with running(isolated):
        await send(isolated, [event(SATISFACTION, "14758", "2024-04-01T09:00:00+07:00", 100, 100),
                              event(SATISFACTION, "14758", "2025-03-10T09:00:00+07:00", 85, 100)])  # fmt: skip
        await eventually(lambda: all_applied(isolated, 2))
    pool = await create_pool(isolated, "app")
    try:
        await refresh_increments(pool, catalog, hierarchy, date(2026, 1, 2))
    finally:
        await pool.close()
    rows = await fetch(isolated, "SELECT day, value FROM daily_values WHERE indicator = $1 AND unit = $2 ORDER BY day",
                       SATISFACTION, "14758")  # fmt: skip
    assert [(r["day"], r["value"]) for r in rows] == [
        (date(2024, 4, 1), Decimal(100)),
        (date(2025, 1, 1), Decimal(100)),  # the 2025-01 version's Đông Thọ carries its own history (docs/lineage.md)
        (date(2025, 3, 10), Decimal("92.5")),
        (date(2025, 4, 1), Decimal(85)),  # the 100/100 left the window that day: no event, yet a row
        (date(2025, 7, 1), Decimal(85)),  # Phường Hàm Rồng, which keeps the code, carries Đông Thọ's window
    ]
    judged = await judge(isolated, catalog, hierarchy, datetime(2026, 1, 2, 5, 0, tzinfo=UTC))
    row = judged[(SATISFACTION, "14758", "2025")]
    assert (row.status, row.value) == ("missed", 85.0)  # not "achieved 92.5": the value at the deadline is 85%


async def test_a_window_that_empties_is_a_null_day_and_the_target_has_no_value_from_then(
    isolated: Settings, catalog: Catalog, hierarchy: Hierarchy
) -> None:
    async with running(isolated):
        await send(isolated, [event(SATISFACTION, "14758", "2025-01-10T09:00:00+07:00", 95, 100)])
        await eventually(lambda: all_applied(isolated, 1))
    pool = await create_pool(isolated, "app")
    try:
        await refresh_increments(pool, catalog, hierarchy, date(2026, 3, 1))
    finally:
        await pool.close()
    rows = await fetch(isolated, "SELECT day, value FROM daily_values WHERE indicator = $1 AND unit = $2 ORDER BY day",
                       SATISFACTION, "14758")  # fmt: skip
    assert [(r["day"], r["value"]) for r in rows] == [
        (date(2025, 1, 10), Decimal(95)),
        (date(2025, 7, 1), Decimal(95)),  # Phường Hàm Rồng, which keeps the code, carries the window (docs/lineage.md)
        (date(2026, 1, 10), None),
    ]
    judged = await judge(isolated, catalog, hierarchy, datetime(2026, 3, 1, 5, 0, tzinfo=UTC))
    assert judged[(SATISFACTION, "14758", "2030")].status == "no_data"  # as current_values (NULL), not 95%
    assert judged[(SATISFACTION, "14758", "2025")].status == "achieved"  # 95% on 2025-12-31


async def test_a_figure_is_stored_under_the_period_it_describes_and_decides_that_milestone(
    isolated: Settings, catalog: Catalog, hierarchy: Hierarchy
) -> None:
    rank_2024 = {**event(DTI, "38", "2025-10-20T09:00:00+07:00", value=12.0), "period": "2024"}
    rank_2025 = {**event(DTI, "38", "2026-06-10T09:00:00+07:00", value=8.0), "period": "2025"}
    async with running(isolated):
        await send(isolated, [rank_2024, rank_2025, rank_2025])  # the second copy of an event changes nothing
        await eventually(lambda: all_applied(isolated, 2))
    rows = await fetch(isolated, "SELECT period, value FROM period_values WHERE indicator = $1 ORDER BY period", DTI)
    assert [(r["period"], r["value"]) for r in rows] == [("2024", Decimal(12)), ("2025", Decimal(8))]
    before = await judge(isolated, catalog, hierarchy, datetime(2026, 1, 1, 0, 30, tzinfo=UTC))
    assert before[(DTI, "38", "2025")].status == "achieved"  # the figure is in the database: judged on it
    assert "năm 2025" in before[(DTI, "38", "2025")].reason
