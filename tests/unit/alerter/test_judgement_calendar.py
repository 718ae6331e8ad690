"""Judged at the right time: reference periods and publication lags, the plan's path, yearly forecasts and period
means (rules in docs/judgement.md). Every expected number is worked out by hand in the sentence or beside it."""

from datetime import UTC, date, datetime

import pytest
from prometheus_client import generate_latest

from services.alerter.evaluator import Inputs, evaluate
from services.alerter.metrics import build_metrics
from services.alerter.rules import Describe, alerts_for
from shared.domain.catalog import Averaging, load_catalog, parse_catalog
from shared.domain.forecast import WIDE_TOLERANCE, ForecastConfig, project_periods
from shared.domain.hierarchy import Hierarchy
from shared.domain.status import STATUS_VI, Status, assess, period_mean
from shared.domain.trajectory import History
from tests.unit.alerter.handcat import indicator

CAT = load_catalog()
CFG = ForecastConfig(window_days=365, min_points=3)
D = date.fromisoformat
PROVINCE = "38"

# fmt: off
CASES = [
    # sentence; indicator, unit, milestone, today, daily rows, period values; status, value, expected, reason part
    ("On 1 January 2026 the 2025 DTI rank is not published: pending until ~27/10/2026, not missed on the 2024 figure.",
     "overall.dti_rank", PROVINCE, "2025", "2026-01-01", [("2025-10-20", 12)], {"2024": 12},
     Status.PENDING, None, None, "dự kiến công bố khoảng 27/10/2026"),
    ("On 27 October 2026, the expected publication day, the 2025 DTI rank is still pending.",
     "overall.dti_rank", PROVINCE, "2025", "2026-10-27", [("2025-10-20", 12)], {"2024": 12},
     Status.PENDING, None, None, "Chờ số liệu năm 2025"),
    ("After the publication lag with no 2025 ranking the milestone has no data (and is overdue).",
     "overall.dti_rank", PROVINCE, "2025", "2026-10-28", [("2025-10-20", 12)], {"2024": 12},
     Status.NO_DATA, None, None, "đã quá ngày công bố dự kiến 27/10/2026"),
    ("A 2025 DTI rank of 8 published in June 2026 decides the 2025 milestone: achieved.",
     "overall.dti_rank", PROVINCE, "2025", "2026-06-15", [("2026-06-10", 8)], {"2024": 12, "2025": 8},
     Status.ACHIEVED, 8, 10, "năm 2025"),
    ("A 2025 DTI rank of 11 decides the 2025 milestone: missed, whatever the date it arrives.",
     "overall.dti_rank", PROVINCE, "2025", "2026-11-01", [("2026-10-20", 11)], {"2025": 11},
     Status.MISSED, 11, 10, "năm 2025"),
    ("The province's e-payment share at 20% on 2026-12-01 is judged against the plan's path from the 2025 target "
     "50% to the 2030 target 80%: 50 + 30 x 335/1826 = 55.50%, behind.",
     "soc.epayment_accounts", PROVINCE, "2030", "2026-12-01", [("2026-11-20", 20)], {},
     Status.BEHIND, 20, 55.50, "kế hoạch 55,5%"),
    ("A commune that starts reporting online inspections on 2026-12-01 at 50% is judged against 50 + 20 x 335/1826 "
     "= 53.67%: on track within 5.",
     "gov.online_inspections", "14758", "2030", "2026-12-01", [("2026-12-01", 50)], {},
     Status.ON_TRACK, 50, 53.67, "kế hoạch 53,67%"),
    ("Digital-economy shares of 14, 15 and 16% for 2023–2025 trend to about 21% in 2030, 9 points short of 30%: "
     "at risk, though the 2025 figure is judged against the plan at the end of 2025 (20%).",
     "econ.digital_economy_share", PROVINCE, "2030", "2026-11-27", [("2026-09-30", 16)],
     {"2023": 14, "2024": 15, "2025": 16}, Status.AT_RISK, 16, 20, "Xu hướng dự báo 21"),
    ("Productivity growth of 18, 2, 16, 3 and 9% has a compound annual mean of 9.41% (arithmetic 9.60): missed.",
     "econ.labour_productivity_growth", PROVINCE, "2025", "2026-07-01", [],
     {"2021": 18, "2022": 2, "2023": 16, "2024": 3, "2025": 9}, Status.MISSED, 9.41, 9.6, "bình quân kép"),
    ("With 1 of 5 years of 2021–2025 reported, productivity is pending after the deadline, never achieved.",
     "econ.labour_productivity_growth", PROVINCE, "2025", "2026-01-05", [], {"2021": 18},
     Status.PENDING, None, 9.6, "dự báo bình quân kép"),
    ("With 1 of 5 years of 2021–2025 reported after the publication lag (29/06/2026), the mean has no data.",
     "econ.labour_productivity_growth", PROVINCE, "2025", "2026-07-01", [], {"2021": 18},
     Status.NO_DATA, None, 9.6, "2022, 2023, 2024, 2025"),
    ("A 2030 milestone the plan does not set maintains the 2025 level, and says so.",
     "gov.systems_connected", PROVINCE, "2030", "2026-12-01", [("2026-11-01", 100)], {},
     Status.ACHIEVED, 100, 100, "duy trì mức năm 2025"),
]
# fmt: on


@pytest.mark.parametrize(
    ("code", "unit", "milestone", "today", "rows", "periods", "status", "value", "expected", "says"),
    [pytest.param(*c[1:], id=c[0]) for c in CASES],
)
def test_judgement(hierarchy: Hierarchy, code, unit, milestone, today, rows, periods, status, value, expected, says):
    ind = CAT[code]
    history = History.of(((D(d), float(v)) for d, v in rows), ((p, float(v)) for p, v in periods.items()))
    result = assess(ind, ind.targets[milestone], history, hierarchy, D(today), CFG)
    assert result.status is status, result.reason
    assert says in result.reason
    if value is None:
        assert result.value is None
    else:
        assert result.value == pytest.approx(value, abs=0.005)
    if expected is not None:
        assert result.expected == pytest.approx(expected, abs=0.005)


def test_the_digital_economy_trend_projects_about_21_percent_at_the_end_of_2030(hierarchy: Hierarchy) -> None:
    ind = CAT["econ.digital_economy_share"]
    history = History.of([], [("2023", 14.0), ("2024", 15.0), ("2025", 16.0)])
    result = assess(ind, ind.targets["2030"], history, hierarchy, D("2026-11-27"), CFG)
    assert result.projected == pytest.approx(21.0, abs=0.01)  # one point a year for five more years


def test_a_yearly_statistic_is_never_missed_on_1_january_while_its_figure_is_due_later(hierarchy: Hierarchy) -> None:
    for code in ("econ.digital_economy_share", "overall.dti_rank", "overall.dgov_rank"):
        ind = CAT[code]
        bad = 99.0 if ind.lower_is_better is False else 63.0
        history = History.of([(D("2025-12-31"), 1.0 if not ind.lower_is_better else bad)], [("2024", bad)])
        for target in ind.milestones():
            if target.year == 2025:
                result = assess(ind, target, history, hierarchy, D("2026-01-01"), CFG)
                assert result.status is Status.PENDING, (code, result.reason)


def test_two_periods_make_a_trend_with_a_doubled_tolerance_three_make_one_with_the_normal_tolerance() -> None:
    two = project_periods([(D("2024-12-31"), 10.0), (D("2025-12-31"), 12.0)], D("2026-12-31"), CFG)
    three = project_periods(
        [(D("2023-12-31"), 8.0), (D("2024-12-31"), 10.0), (D("2025-12-31"), 12.0)], D("2026-12-31"), CFG
    )
    assert two is not None and three is not None
    assert two.tolerance_factor == WIDE_TOLERANCE and three.tolerance_factor == 1.0
    assert two.projected == pytest.approx(14.0, abs=0.02) and three.projected == pytest.approx(14.0, abs=0.02)
    assert project_periods([(D("2025-12-31"), 12.0)], D("2026-12-31"), CFG) is None


def test_the_compound_mean_of_18_2_16_3_9_is_9_41_and_the_arithmetic_one_9_60() -> None:
    growth = [18.0, 2.0, 16.0, 3.0, 9.0]
    assert period_mean(Averaging.COMPOUND, growth) == pytest.approx(9.406, abs=0.001)  # 1.5674868 ** 0.2
    assert period_mean(Averaging.ARITHMETIC, growth) == pytest.approx(9.60)


def test_a_lower_bound_of_0_clamps_a_projected_period_mean(hierarchy: Hierarchy) -> None:
    raw = indicator(
        "t.growth", pillar="econ", measure="value", display_unit="%/năm", min=0.0, max=100.0, tolerance=0.5,
        reporting_interval_days=400, period="year",
        targets={"2030": {"value": 5.0, "kind": "period_mean", "period_start": 2026}},
    )  # fmt: skip
    pillars = {"econ": {"vi": "e", "en": "e"}}
    ind = parse_catalog({"version": 1, "pillars": pillars, "indicators": [raw]})["t.growth"]
    history = History.of([], [("2026", 4.0), ("2027", 2.0)])
    result = assess(ind, ind.targets["2030"], history, hierarchy, D("2028-03-01"), CFG)
    # trend 4, 2 → 0, −2, −4 clamped to 0: (4 + 2 + 0 + 0 + 0) / 5 = 1.2 (unclamped it would be 0)
    assert result.projected == pytest.approx(1.2)
    assert result.status is Status.AT_RISK


def test_pending_reads_cho_so_lieu_chinh_thuc() -> None:
    assert STATUS_VI[Status.PENDING] == "Chờ số liệu chính thức"


def test_a_pending_target_raises_no_alert_and_shows_in_the_status_gauge(hierarchy: Hierarchy) -> None:
    keys = [("overall.dti_rank", PROVINCE, "2025")]
    history = History.of([(D("2025-10-20"), 12.0)], [("2024", 12.0)])
    inputs = Inputs(histories={("overall.dti_rank", PROVINCE): history})
    (row,) = evaluate(CAT, hierarchy, keys, inputs, datetime(2026, 1, 1, 0, 30, tzinfo=UTC), CFG)
    assert (row.status, row.stale) == (Status.PENDING, False)
    describe = Describe("DTI", "overall", "hạng", "Tỉnh Thanh Hóa", 400, "http://grafana")
    assert alerts_for(row, describe) == []
    metrics = build_metrics()
    metrics.domain.update({}, [row])
    exposition = generate_latest(metrics.registry).decode()
    assert (
        'dx_target_status{indicator="overall.dti_rank",milestone="2025",status="pending",unit="38"} 1.0' in exposition
    )


def test_after_the_publication_lag_a_missing_figure_is_no_data_and_stale_but_never_missed(hierarchy: Hierarchy) -> None:
    keys = [("overall.dti_rank", PROVINCE, "2025")]
    inputs = Inputs(histories={("overall.dti_rank", PROVINCE): History.of([(D("2025-10-20"), 12.0)], [("2024", 12.0)])})
    (row,) = evaluate(CAT, hierarchy, keys, inputs, datetime(2026, 10, 28, 5, 0, tzinfo=UTC), CFG)
    assert (row.status, row.stale) == (Status.NO_DATA, True)
    describe = Describe("DTI", "overall", "hạng", "Tỉnh Thanh Hóa", 400, "http://grafana")
    assert [a.alertname for a in alerts_for(row, describe)] == ["DxIndicatorStale"]
