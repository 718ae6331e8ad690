"""Trajectory, projection and status rules, one sentence per case (hand-computed catalog in handcat.py)."""

from datetime import date

import pytest

from shared.domain.forecast import ForecastConfig, project
from shared.domain.hierarchy import Hierarchy
from shared.domain.status import Status, assess, evaluation_keys, goal_of
from shared.domain.trajectory import History, Point, expected_at, trajectory
from tests.unit.alerter.handcat import hand_catalog

CAT = hand_catalog()
CFG = ForecastConfig(window_days=365, min_points=3)
D = date.fromisoformat

# yearly histories of the period-mean cases (a year's value is its last observation: 2023-06-01 does not count)
MEAN_9_6 = [
    ("2021-12-01", 9.0),
    ("2022-12-01", 10.0),
    ("2023-06-01", 1.0),
    ("2023-12-01", 9.5),
    ("2024-12-01", 9.5),
    ("2025-12-01", 10.0),
]
MEAN_9_4 = [
    ("2021-12-01", 9.0),
    ("2022-12-01", 10.0),
    ("2023-12-01", 9.5),
    ("2024-12-01", 9.5),
    ("2025-11-01", 11.0),
    ("2025-12-01", 9.0),
]
FALLING = [("2026-06-01", 9.5), ("2027-06-01", 8.5), ("2028-06-01", 7.5), ("2029-06-01", 6.5)]

# fmt: off
CASES = [
    # sentence, then: indicator, milestone, today, history, status, value, expected, target
    ("A rank of 5 against a target of at most 10 is achieved.",
     "t.rank", "2025", "2025-06-30", [("2025-03-01", 5)], Status.ACHIEVED, 5, 12.52, 10),
    ("A rank of 14 when the plan expects 12.52 is within the tolerance of 2: on track.",
     "t.rank", "2025", "2025-06-30", [("2025-03-01", 14)], Status.ON_TRACK, 14, 12.52, 10),
    ("A rank of 15 when the plan expects 12.52 is worse by more than 2: behind.",
     "t.rank", "2025", "2025-06-30", [("2025-03-01", 15)], Status.BEHIND, 15, 12.52, 10),
    ("A rank of 11 at the 2025 deadline is missed, even if it improves afterwards.",
     "t.rank", "2025", "2026-11-27", [("2025-10-01", 11), ("2026-03-01", 3)], Status.MISSED, 11, 10, 10),
    ("A rank of 3 in 2026 already meets the 2030 target of at most 10.",
     "t.rank", "2030", "2026-11-27", [("2025-10-01", 11), ("2026-03-01", 3)], Status.ACHIEVED, 3, 10, 10),
    ("A ratio of 40% when the plan expects 42.44% (20→50 over 730 days, on day 546) is on track within 3.",
     "t.ratio", "2025", "2025-06-30", [("2025-06-01", 40)], Status.ON_TRACK, 40, 42.44, 50),
    ("A ratio of 39% when the plan expects 42.44% is behind by more than 3.",
     "t.ratio", "2025", "2025-06-30", [("2025-06-01", 39)], Status.BEHIND, 39, 42.44, 50),
    ("A ratio of exactly the plan minus the tolerance is still on track.",
     "t.ratio", "2025", "2025-06-30", [("2025-06-01", 39.44)], Status.ON_TRACK, 39.44, 42.44, 50),
    ("A ratio of 50% at the 2025 deadline is achieved, judged on the last value at or before it.",
     "t.ratio", "2025", "2026-11-27", [("2025-12-31", 50), ("2026-02-01", 30)], Status.ACHIEVED, 50, 50, 50),
    ("A ratio of 49.9% at the 2025 deadline is missed: tolerance never excuses a final result.",
     "t.ratio", "2025", "2026-11-27", [("2025-12-30", 49.9)], Status.MISSED, 49.9, 50, 50),
    ("Without any value before the 2025 deadline the passed milestone has no data.",
     "t.ratio", "2025", "2026-11-27", [("2026-01-01", 70)], Status.NO_DATA, None, None, 50),
    ("Without any value yet an upcoming milestone has no data.",
     "t.ratio", "2030", "2026-11-27", [], Status.NO_DATA, None, None, 80),
    ("On 2026-11-27 the 2030 plan (50% on 2025-12-31 → 80%) expects 55.44% (day 331 of 1826): 53% is on track.",
     "t.ratio", "2030", "2026-11-27", [("2026-11-01", 53)], Status.ON_TRACK, 53, 55.44, 80),
    ("On 2029-12-31 the 2030 plan expects 74.0% (day 1461 of 1826): 70% is behind by more than 3.",
     "t.ratio", "2030", "2029-12-31", [("2029-12-01", 70)], Status.BEHIND, 70, 74.0, 80),
    ("A period mean of 2021–2025 of 9.6 exactly is achieved.",
     "t.mean", "2025", "2026-11-27", MEAN_9_6, Status.ACHIEVED, 9.6, 9.6, 9.6),
    ("A period mean counts each year's last observation only: 9.0, 10, 9.5, 9.5 and 9.0 average 9.4, missed.",
     "t.mean", "2025", "2026-11-27", MEAN_9_4, Status.MISSED, 9.4, 9.6, 9.6),
    ("A 2026–2030 mean of 7.2 from 1 of 5 years is judged on its projection (7.2 for every year): at risk.",
     "t.mean", "2030", "2026-11-27", [("2026-06-01", 7.2)], Status.AT_RISK, 7.2, 8.1, 8.1),
    ("A 2026–2030 mean of 8.0 so far with a falling yearly trend projects a miss: at risk.",
     "t.mean", "2030", "2029-12-31", FALLING, Status.AT_RISK, 8.0, 8.1, 8.1),
    ("300 communes of the 547 in force on 2025-06-30 is a target that applies: 310 achieves it early.",
     "t.communes", "2025", "2025-06-30", [("2025-06-01", 310)], Status.ACHIEVED, 310, None, 300),
    ("300 communes when only 166 exist at the 2025 deadline is not applicable.",
     "t.communes", "2025", "2026-11-27", [("2025-12-01", 120)], Status.NOT_APPLICABLE, None, None, None),
    ("80% of the 166 communes in force is 133 communes (rounded up): 90 in 2029 is behind.",
     "t.communes", "2030", "2029-12-31", [("2025-12-01", 60), ("2029-12-01", 90)], Status.BEHIND, 90, None, 133),
    ("6 districts by 2025 is judged while districts exist: 4 on a plan from 4 (first observation) is on track.",
     "t.districts", "2025", "2025-06-30", [("2025-06-01", 4)], Status.ON_TRACK, 4, 4.27, 6),
    ("6 districts by 2025 is not applicable once the district level is gone.",
     "t.districts", "2025", "2026-11-27", [("2025-06-01", 8)], Status.NOT_APPLICABLE, None, None, None),
    ("100% of districts by 2030 is not applicable after 2025-07-01.",
     "t.districts", "2030", "2029-12-31", [("2025-06-01", 8)], Status.NOT_APPLICABLE, None, None, None),
]
# fmt: on


@pytest.mark.parametrize(
    ("indicator", "milestone", "today", "rows", "status", "value", "expected", "target"),
    [pytest.param(*c[1:], id=c[0]) for c in CASES],
)
def test_status_rule(hierarchy: Hierarchy, indicator, milestone, today, rows, status, value, expected, target):
    ind = CAT[indicator]
    history = History.of((D(d), float(v)) for d, v in rows)
    result = assess(ind, ind.targets[milestone], history, hierarchy, D(today), CFG)
    assert result.status is status, result.reason
    assert result.reason and "\n" not in result.reason
    if value is not None:
        assert result.value == pytest.approx(value)
    if expected is not None:
        assert result.expected == pytest.approx(expected, abs=0.01)
    if target is not None:
        assert result.target == pytest.approx(target)


def test_the_plan_does_not_exist_before_the_baseline_is_flat_after_the_last_milestone_and_linear_between() -> None:
    plan = trajectory(Point(D("2024-01-01"), 20.0), [Point(D("2025-12-31"), 50.0), Point(D("2030-12-31"), 80.0)])
    assert expected_at(plan, D("2023-06-01")) is None
    assert expected_at(plan, D("2024-12-31")) == pytest.approx(20 + 30 * 365 / 730)
    assert expected_at(plan, D("2025-12-31")) == 50.0
    assert expected_at(plan, D("2031-06-01")) == 80.0


def test_a_catalog_baseline_after_the_first_milestone_starts_the_plan_there() -> None:
    plan = trajectory(Point(D("2026-01-01"), 30.0), [Point(D("2025-12-31"), 50.0), Point(D("2030-12-31"), 80.0)])
    assert plan == [Point(D("2026-01-01"), 30.0), Point(D("2030-12-31"), 80.0)]


def test_a_rising_trend_projects_linearly_to_the_deadline() -> None:
    points = [(D("2025-01-01"), 10.0), (D("2025-01-11"), 20.0), (D("2025-01-21"), 30.0)]
    assert project(points, D("2025-01-21"), D("2025-01-31"), CFG) == pytest.approx(40.0)


def test_a_projection_is_clamped_to_the_indicators_range() -> None:
    points = [(D("2025-01-01"), 10.0), (D("2025-01-11"), 60.0), (D("2025-01-21"), 95.0)]
    assert project(points, D("2025-01-21"), D("2025-12-31"), CFG, (0.0, 100.0)) == 100.0


def test_points_outside_the_trailing_window_do_not_count() -> None:
    points = [(D("2020-01-01"), 0.0), (D("2025-01-11"), 20.0), (D("2025-01-21"), 30.0)]
    assert project(points, D("2025-01-21"), D("2025-01-31"), CFG) is None  # two points left, three needed
    wide = ForecastConfig(window_days=3650, min_points=3)
    assert project(points, D("2025-01-21"), D("2025-01-31"), wide) is not None


def test_a_falling_ratio_trend_projecting_a_miss_is_at_risk_even_when_on_plan_today(hierarchy: Hierarchy) -> None:
    ind = CAT["t.ratio"]
    rows = [(D("2025-04-01"), 48.0), (D("2025-05-01"), 46.0), (D("2025-06-01"), 44.0)]
    result = assess(ind, ind.targets["2025"], History.of(rows), hierarchy, D("2025-06-30"), CFG)
    assert result.status is Status.AT_RISK
    assert result.projected is not None and result.projected < 50 - 3


def test_a_rising_rank_number_projecting_past_the_target_is_at_risk(hierarchy: Hierarchy) -> None:
    ind = CAT["t.rank"]
    rows = [(D("2025-01-01"), 9.0), (D("2025-03-01"), 10.0), (D("2025-05-01"), 11.0)]
    result = assess(ind, ind.targets["2025"], History.of(rows), hierarchy, D("2025-06-30"), CFG)
    assert result.status is Status.AT_RISK


def test_units_percent_targets_use_the_units_in_force(hierarchy: Hierarchy) -> None:
    ind = CAT["t.communes"]
    assert goal_of(ind, ind.targets["2030"], hierarchy, D("2025-06-30")) == 438.0  # ceil(0.8 × 547)
    assert goal_of(ind, ind.targets["2030"], hierarchy, D("2026-11-27")) == 133.0  # ceil(0.8 × 166)


def test_district_rows_exist_only_while_districts_exist(hierarchy: Hierarchy) -> None:
    before = evaluation_keys(CAT.indicators, hierarchy, D("2025-06-30"))
    after = evaluation_keys(CAT.indicators, hierarchy, D("2026-11-27"))
    assert ("t.ratio", "380", "2025") not in before  # t.ratio is reported at the province: province rows only
    assert {k for k in after if k[0] == "t.communes"} == {("t.communes", "38", "2025"), ("t.communes", "38", "2030")}
