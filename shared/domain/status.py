"""Status of one (indicator, unit, milestone) at a date (DESIGN §7), each with a one-line Vietnamese reason.

Rules, in order:
1. Scope: the unit, and for units_count / units_percent targets the units of `units_level`, are taken as in
   force at min(today, deadline). A unit or level that no longer exists, or a count larger than the units that
   exist (300 of 166 communes), is `not_applicable`: never a false alarm.
2. A passed milestone is final: the last value at or before the deadline (period_mean: the mean of the period's
   yearly values, a year's value being its last observation) is `achieved` or `missed`.
3. An upcoming milestone: no value → `no_data`; the target already met → `achieved`; the trend over the trailing
   window projects a value at the deadline worse than the target by more than the tolerance → `at_risk`; the
   value is worse than the planned trajectory by more than the tolerance → `behind`; otherwise `on_track`.
Tolerance is the indicator's, in its unit; "worse" is lower, or higher for rank indicators (lower is better).
"""

import math
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from shared.domain.catalog import LEVEL_DEPTH, Indicator, Measure, Target, TargetKind
from shared.domain.forecast import ForecastConfig, fit_line, project
from shared.domain.hierarchy import Hierarchy
from shared.domain.trajectory import History, Point, expected_at, trajectory
from shared.names import PROVINCE_CODE

EPSILON = 1e-9


class Status(StrEnum):
    MISSED = "missed"
    AT_RISK = "at_risk"
    BEHIND = "behind"
    NO_DATA = "no_data"
    ON_TRACK = "on_track"
    ACHIEVED = "achieved"
    NOT_APPLICABLE = "not_applicable"


# Worst first: what `dx status` sorts by. no_data sits between the problems and the good news: unknown is
# not fine, but it is not a measured shortfall either. not_applicable is last: nothing to do.
STATUS_ORDER: dict[Status, int] = {s: i for i, s in enumerate(Status)}
STATUS_VI: dict[Status, str] = {
    Status.MISSED: "Không đạt",
    Status.AT_RISK: "Có nguy cơ",
    Status.BEHIND: "Chậm tiến độ",
    Status.NO_DATA: "Chưa có số liệu",
    Status.ON_TRACK: "Đúng tiến độ",
    Status.ACHIEVED: "Đã đạt",
    Status.NOT_APPLICABLE: "Không áp dụng",
}
LEVEL_VI = {"province": "tỉnh", "district": "huyện", "commune": "xã"}


@dataclass(frozen=True)
class Assessment:
    status: Status
    reason: str
    value: float | None = None
    expected: float | None = None
    target: float | None = None
    projected: float | None = None


def fmt(value: float | None, unit: str = "") -> str:
    """Vietnamese number: decimal comma, at most 2 decimals, then the display unit."""
    if value is None:
        return "—"
    text = f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    return f"{text}{unit}" if unit in ("%", "") else f"{text} {unit}"


def fmt_day(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def worse_by(indicator: Indicator, value: float, reference: float) -> float:
    """How much worse `value` is than `reference` (positive = worse) in the indicator's direction."""
    return value - reference if indicator.lower_is_better else reference - value


def meets(indicator: Indicator, value: float, goal: float) -> bool:
    return worse_by(indicator, value, goal) <= EPSILON


def goal_of(indicator: Indicator, target: Target, hierarchy: Hierarchy, today: date) -> float | str:
    """The target in the indicator's unit, or the reason it does not apply (scope as in force at the ref date)."""
    ref = min(today, target.deadline)
    if target.kind not in (TargetKind.UNITS_COUNT, TargetKind.UNITS_PERCENT):
        return target.value
    level = target.units_level or "commune"
    count = len(hierarchy.units_in_force(ref, level))
    name = LEVEL_VI[level]
    if count == 0:
        return f"Cấp {name} không còn tồn tại ({fmt_day(ref)}) sau sắp xếp đơn vị hành chính: mục tiêu không áp dụng"
    if target.kind is TargetKind.UNITS_COUNT:
        if target.value > count:
            return f"Mục tiêu {fmt(target.value)} đơn vị cấp {name} vượt số đơn vị hiện có ({count}): không áp dụng"
        return target.value
    goal = target.value / 100 * count
    return float(math.ceil(goal - EPSILON)) if indicator.integer else goal


def bounds(indicator: Indicator, hierarchy: Hierarchy, today: date) -> tuple[float | None, float | None]:
    """The range a projection is clamped to."""
    if indicator.measure is Measure.RATIO:
        return 0.0, 100.0
    if indicator.measure is Measure.COUNT:
        return 0.0, float(len(hierarchy.units_in_force(today, indicator.reported_at))) or None
    return indicator.min, indicator.max


def applies(indicator: Indicator, target: Target, unit: str, hierarchy: Hierarchy, today: date) -> bool:
    """Whether (indicator, unit, milestone) is evaluated: ratio targets at the province and every unit in force
    down to the reporting level; every other target at the province only."""
    if unit == PROVINCE_CODE:
        return True
    if indicator.measure is not Measure.RATIO:
        return False
    found = hierarchy.resolve(unit, min(today, target.deadline))
    return found is not None and LEVEL_DEPTH[found.level] <= LEVEL_DEPTH[indicator.reported_at]


def evaluation_keys(indicators: tuple[Indicator, ...], hierarchy: Hierarchy, today: date) -> list[tuple[str, str, str]]:
    """Every (indicator, unit, milestone) evaluated at `today`."""
    keys: list[tuple[str, str, str]] = []
    for ind in indicators:
        for target in ind.milestones():
            ref = min(today, target.deadline)
            units = [PROVINCE_CODE]
            if ind.measure is Measure.RATIO:
                depth = LEVEL_DEPTH[ind.reported_at]
                units += sorted(
                    u.code
                    for u in hierarchy.units_in_force(ref)
                    if u.code != PROVINCE_CODE and LEVEL_DEPTH[u.level] <= depth
                )
            keys.extend((ind.code, u, target.milestone) for u in units)
    return keys


def assess(
    indicator: Indicator,
    target: Target,
    history: History,
    hierarchy: Hierarchy,
    today: date,
    config: ForecastConfig,
) -> Assessment:
    """The status of one target of one unit at `today` (see the module docstring for the rules)."""
    goal = goal_of(indicator, target, hierarchy, today)
    if isinstance(goal, str):
        return Assessment(Status.NOT_APPLICABLE, goal)
    if target.kind is TargetKind.PERIOD_MEAN:
        return _assess_period_mean(indicator, target, goal, history, today, config)
    unit = indicator.display_unit
    if today > target.deadline:
        value = history.as_of(target.deadline)
        if value is None:
            return Assessment(Status.NO_DATA, f"Không có số liệu đến hạn {fmt_day(target.deadline)}", target=goal)
        if meets(indicator, value, goal):
            reason = f"Đạt {fmt(value, unit)} đến hạn {fmt_day(target.deadline)}, mục tiêu {fmt(goal, unit)}"
            return Assessment(Status.ACHIEVED, reason, value, goal, goal)
        reason = f"Hết hạn {fmt_day(target.deadline)}: đạt {fmt(value, unit)}, mục tiêu {fmt(goal, unit)}"
        return Assessment(Status.MISSED, reason, value, goal, goal)
    value = history.as_of(today)
    if value is None:
        return Assessment(Status.NO_DATA, "Chưa có số liệu", target=goal)
    plan = _plan(indicator, history, hierarchy, today)
    expected = expected_at(plan, today)
    projected = project(history.pairs(), today, target.deadline, config, bounds(indicator, hierarchy, today))
    result = Assessment(Status.ON_TRACK, "", value, expected, goal, projected)
    if meets(indicator, value, goal):
        return _with(result, Status.ACHIEVED, f"Đã đạt mục tiêu {fmt(goal, unit)} trước hạn ({fmt(value, unit)})")
    if projected is not None and worse_by(indicator, projected, goal) > indicator.tolerance:
        reason = f"Xu hướng dự báo {fmt(projected, unit)} vào {fmt_day(target.deadline)}, mục tiêu {fmt(goal, unit)}"
        return _with(result, Status.AT_RISK, reason)
    if expected is not None and worse_by(indicator, value, expected) > indicator.tolerance:
        reason = f"Hiện {fmt(value, unit)}, kế hoạch {fmt(expected, unit)} (dung sai {fmt(indicator.tolerance, unit)})"
        return _with(result, Status.BEHIND, reason)
    return _with(result, Status.ON_TRACK, f"Hiện {fmt(value, unit)}, kế hoạch {fmt(expected, unit)}")


def _with(result: Assessment, status: Status, reason: str) -> Assessment:
    return Assessment(status, reason, result.value, result.expected, result.target, result.projected)


def _plan(indicator: Indicator, history: History, hierarchy: Hierarchy, today: date) -> list[Point]:
    """Baseline (the catalog's, else the first observation) → every applicable milestone target."""
    if indicator.baseline_date is not None and indicator.baseline_value is not None:
        baseline: Point | None = Point(indicator.baseline_date, indicator.baseline_value)
    else:
        baseline = history.first()
    milestones = []
    for target in indicator.milestones():
        goal = goal_of(indicator, target, hierarchy, today)
        if not isinstance(goal, str) and target.kind is not TargetKind.PERIOD_MEAN:
            milestones.append(Point(target.deadline, goal))
    return trajectory(baseline, milestones)


def _assess_period_mean(
    indicator: Indicator, target: Target, goal: float, history: History, today: date, config: ForecastConfig
) -> Assessment:
    """Mean of the yearly values from period_start to the milestone year, each year's value its last observation."""
    unit = indicator.display_unit
    first_year = target.period_start or target.year
    years = range(first_year, target.year + 1)
    until = min(today, target.deadline)
    yearly = {y: v for y in years if (v := history.year_value(y, until)) is not None}
    period = f"{first_year}–{target.year}"
    if not yearly:
        return Assessment(Status.NO_DATA, f"Chưa có số liệu năm nào của giai đoạn {period}", target=goal)
    mean = sum(yearly.values()) / len(yearly)
    have = f"{len(yearly)}/{len(years)} năm"
    if today > target.deadline:
        status = Status.ACHIEVED if meets(indicator, mean, goal) else Status.MISSED
        reason = f"Bình quân {period} ({have}) {fmt(mean, unit)}, mục tiêu {fmt(goal, unit)}"
        return Assessment(status, reason, mean, goal, goal, mean)
    projected = _project_mean(yearly, years, config.min_points, (indicator.min, indicator.max))
    result = Assessment(Status.ON_TRACK, "", mean, goal, goal, projected)
    if projected is not None and worse_by(indicator, projected, goal) > indicator.tolerance:
        reason = f"Dự báo bình quân {period} {fmt(projected, unit)}, mục tiêu {fmt(goal, unit)}"
        return _with(result, Status.AT_RISK, reason)
    if worse_by(indicator, mean, goal) > indicator.tolerance:
        return _with(result, Status.BEHIND, f"Bình quân ({have}) {fmt(mean, unit)}, mục tiêu {fmt(goal, unit)}")
    return _with(result, Status.ON_TRACK, f"Bình quân ({have}) {fmt(mean, unit)}, mục tiêu {fmt(goal, unit)}")


def _project_mean(
    yearly: dict[int, float], years: range, min_points: int, limits: tuple[float | None, float | None]
) -> float | None:
    """The period mean with missing years filled by the least-squares trend of the known ones."""
    if len(yearly) == len(years):
        return sum(yearly.values()) / len(yearly)
    line = fit_line(list(map(float, yearly)), list(yearly.values())) if len(yearly) >= min(min_points, 2) else None
    if line is None:
        return None
    low, high = limits
    filled = [yearly.get(y, max(low or -math.inf, min(high or math.inf, line[0] + line[1] * y))) for y in years]
    return sum(filled) / len(filled)
