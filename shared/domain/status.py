"""Status of one (indicator, unit, milestone) at a date, each with a one-line Vietnamese reason.

Rules, in order (the full text, with examples and every reason, is docs/judgement.md):
1. Scope: the unit, and for units_count / units_percent targets the units of `units_level`, are taken as in
   force at min(today, deadline). A unit or level that no longer exists, or a count larger than the units that
   exist (300 of 166 communes), is `not_applicable`: never a false alarm.
2. A passed milestone is judged on its own figure: for an indicator with a reference period, the value for the
   milestone's period whenever it arrives (until its expected publication `pending`, after it `no_data` and
   overdue); otherwise the last value at or before the deadline. A period mean is judged only when every year
   of the period is in (compound or arithmetic, as the catalog says).
3. An upcoming milestone: no value → `no_data`; the target already met → `achieved`; the trend (daily history over
   the trailing window, or the last periods of a periodic statistic) projects a value at the deadline worse than
   the target by more than the tolerance → `at_risk`; the value is worse than the plan's path by more than the
   tolerance → `behind`; otherwise `on_track`. An incomplete period mean is judged on its projection only.
Tolerance is the indicator's, in its unit; "worse" is lower, or higher for rank indicators (lower is better).
"""

import math
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from shared.domain.catalog import LEVEL_DEPTH, Averaging, Indicator, Measure, Target, TargetKind
from shared.domain.forecast import ForecastConfig, clamp, fit_line, project, project_periods
from shared.domain.hierarchy import Hierarchy
from shared.domain.periods import Granularity, closing_period, expected_publication, parse_period, period_of
from shared.domain.trajectory import History, Point, expected_at, trajectory
from shared.names import PROVINCE_CODE

EPSILON = 1e-9


class Status(StrEnum):
    MISSED = "missed"
    AT_RISK = "at_risk"
    BEHIND = "behind"
    NO_DATA = "no_data"
    PENDING = "pending"
    ON_TRACK = "on_track"
    ACHIEVED = "achieved"
    NOT_APPLICABLE = "not_applicable"


# Worst first: what `dx status` sorts by. no_data sits between the problems and the good news: unknown is
# not fine, but it is not a measured shortfall either; pending (the official figure is not due yet) is after it.
# not_applicable is last: nothing to do.
STATUS_ORDER: dict[Status, int] = {s: i for i, s in enumerate(Status)}
STATUS_VI: dict[Status, str] = {
    Status.MISSED: "Không đạt",
    Status.AT_RISK: "Có nguy cơ",
    Status.BEHIND: "Chậm tiến độ",
    Status.NO_DATA: "Chưa có số liệu",
    Status.PENDING: "Chờ số liệu chính thức",
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
    overdue: bool = False  # the official figure is past its expected publication: stale


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
        return _assess_period_mean(indicator, target, goal, history, hierarchy, today, config)
    if indicator.period is not None:
        return _assess_periodic(indicator, target, goal, history, hierarchy, today, config)
    unit = indicator.display_unit
    if today > target.deadline:
        value = history.as_of(target.deadline)
        if value is None:
            return Assessment(Status.NO_DATA, f"Không có số liệu đến hạn {fmt_day(target.deadline)}", target=goal)
        return _final(indicator, target, goal, value, None)
    value = history.as_of(today)
    if value is None:
        return Assessment(Status.NO_DATA, "Chưa có số liệu", target=goal)
    path = _plan(indicator, history, hierarchy, today)
    expected = expected_at(path, today)
    projected = project(history.pairs(), today, target.deadline, config, bounds(indicator, hierarchy, today))
    now_text = f"Hiện {fmt(value, unit)}"
    return _upcoming(indicator, target, goal, value, expected, projected, indicator.tolerance, now_text,
                     _leg(path, today, unit))  # fmt: skip


def _maintain(target: Target) -> str:
    """The reason's note for a milestone that keeps an earlier level."""
    if target.kind is not TargetKind.MAINTAIN:
        return ""
    return f" (duy trì mức năm {target.maintains}: kế hoạch không đặt chỉ tiêu mới cho năm {target.milestone})"


def _final(indicator: Indicator, target: Target, goal: float, value: float, source: str | None) -> Assessment:
    """achieved / missed of a passed milestone; `source` names the figure (periodic), else the deadline's value."""
    unit, deadline = indicator.display_unit, fmt_day(target.deadline)
    if meets(indicator, value, goal):
        reason = f"Đạt {fmt(value, unit)} {source or f'đến hạn {deadline}'}, mục tiêu {fmt(goal, unit)}"
        return Assessment(Status.ACHIEVED, reason + _maintain(target), value, goal, goal)
    reason = f"Hết hạn {deadline}: {f'{source} ' if source else ''}đạt {fmt(value, unit)}, mục tiêu {fmt(goal, unit)}"
    return Assessment(Status.MISSED, reason + _maintain(target), value, goal, goal)


def _upcoming(
    indicator: Indicator,
    target: Target,
    goal: float,
    value: float,
    expected: float | None,
    projected: float | None,
    risk_tolerance: float,
    now_text: str,
    leg: str = "",
) -> Assessment:
    """achieved / at_risk / behind / on_track of an upcoming milestone, in that order."""
    unit, tol = indicator.display_unit, indicator.tolerance
    note = _maintain(target)
    result = Assessment(Status.ON_TRACK, "", value, expected, goal, projected)
    if meets(indicator, value, goal):
        return _with(result, Status.ACHIEVED, f"Đã đạt mục tiêu {fmt(goal, unit)} trước hạn ({fmt(value, unit)}){note}")
    if projected is not None and worse_by(indicator, projected, goal) > risk_tolerance:
        reason = f"Xu hướng dự báo {fmt(projected, unit)} vào {fmt_day(target.deadline)}, mục tiêu {fmt(goal, unit)}"
        return _with(result, Status.AT_RISK, reason + note)
    plan = f"kế hoạch {fmt(expected, unit)}{leg}" if expected is not None else "chưa có lộ trình trước mốc đầu tiên"
    if expected is not None and worse_by(indicator, value, expected) > tol:
        return _with(result, Status.BEHIND, f"{now_text}, {plan} (dung sai {fmt(tol, unit)}){note}")
    return _with(result, Status.ON_TRACK, f"{now_text}, {plan}{note}")


def _leg(path: list[Point], day: date, unit: str) -> str:
    """The stretch of the plan's path `day` lies on, e.g. " (lộ trình 50% ngày 31/12/2025 → 80% ngày 31/12/2030)"."""
    if not path or day < path[0].day:
        return ""
    left = path[0]
    for point in path[1:]:
        if day <= point.day:
            return f" (lộ trình {fmt(left.value, unit)} ngày {fmt_day(left.day)} → {fmt(point.value, unit)} ngày " \
                   f"{fmt_day(point.day)})"  # fmt: skip
        left = point
    return f" (lộ trình: giữ {fmt(left.value, unit)} từ {fmt_day(left.day)})"


def _with(result: Assessment, status: Status, reason: str) -> Assessment:
    return Assessment(status, reason, result.value, result.expected, result.target, result.projected, result.overdue)


def _plan(indicator: Indicator, history: History, hierarchy: Hierarchy, today: date) -> list[Point]:
    """The plan's path: the catalog's baseline (else the first observation, only when it precedes the first
    milestone) → every applicable milestone target."""
    if indicator.baseline_date is not None and indicator.baseline_value is not None:
        baseline: Point | None = Point(indicator.baseline_date, indicator.baseline_value)
    else:
        baseline = None
    milestones = []
    for target in indicator.milestones():
        goal = goal_of(indicator, target, hierarchy, today)
        if not isinstance(goal, str) and target.kind is not TargetKind.PERIOD_MEAN:
            milestones.append(Point(target.deadline, goal))
    return trajectory(baseline, milestones, history.first())


def _period_points(indicator: Indicator, history: History, today: date) -> list[tuple[date, float]]:
    """(last day of the period, value) of every period that has ended by `today` or contains it."""
    out = []
    for label, value in history.periods:
        found = parse_period(label)
        if found is not None and found.granularity is indicator.period and found.start <= today:
            out.append((found.end, value))
    return out


def _assess_periodic(
    indicator: Indicator,
    target: Target,
    goal: float,
    history: History,
    hierarchy: Hierarchy,
    today: date,
    config: ForecastConfig,
) -> Assessment:
    """A statistic with a reference period: milestone Y is judged on the value for the period closing year Y."""
    assert indicator.period is not None
    unit = indicator.display_unit
    label = closing_period(indicator.period, target.year)
    if today > target.deadline:
        own = history.period_value(label)
        if own is not None:
            return _final(indicator, target, goal, own, f"số liệu chính thức {_period_vi(indicator.period, label)}")
        return _awaiting(indicator, label, goal, today, f"số liệu {_period_vi(indicator.period, label)}")
    points = _period_points(indicator, history, today)
    if not points:
        return Assessment(Status.NO_DATA, "Chưa có số liệu", target=goal)
    end, value = points[-1]
    path = _plan(indicator, history, hierarchy, today)
    expected = expected_at(path, end)
    trend = project_periods(points, target.deadline, config, bounds(indicator, hierarchy, today))
    projected = trend.projected if trend else None
    factor = trend.tolerance_factor if trend else 1.0
    latest = _period_vi(indicator.period, period_of(indicator.period, end))
    return _upcoming(indicator, target, goal, value, expected, projected, indicator.tolerance * factor,
                     f"Số liệu {latest}: {fmt(value, unit)}", _leg(path, end, unit))  # fmt: skip


def _period_vi(granularity: Granularity, label: str) -> str:
    if granularity is Granularity.YEAR:
        return f"năm {label}"
    if granularity is Granularity.QUARTER:
        return f"quý {label[6]}/{label[:4]}"
    return f"tháng {label[5:]}/{label[:4]}"


def _awaiting(indicator: Indicator, label: str, goal: float, today: date, what: str, extra: str = "") -> Assessment:
    """A passed milestone whose figure is not in: pending until its expected publication, then no_data (overdue)."""
    found = parse_period(label)
    assert found is not None
    due = expected_publication(found, indicator.publication_lag_days)
    if today <= due:
        reason = f"Chờ {what} (dự kiến công bố khoảng {fmt_day(due)}){extra}"
        return Assessment(Status.PENDING, reason, target=goal)
    reason = f"Chưa có {what}: đã quá ngày công bố dự kiến {fmt_day(due)}{extra}"
    return Assessment(Status.NO_DATA, reason, target=goal, overdue=indicator.period is not None)


def period_mean(averaging: Averaging, values: list[float]) -> float:
    """Arithmetic mean, or the compound annual rate of yearly growth rates in % ((Π(1 + g/100))^(1/n) − 1)."""
    if averaging is Averaging.ARITHMETIC:
        return sum(values) / len(values)
    product = math.prod(1 + v / 100 for v in values)
    return (product ** (1 / len(values)) - 1) * 100 if product > 0 else -100.0


def _year_values(indicator: Indicator, history: History, years: range, until: date) -> dict[int, float]:
    if indicator.period is Granularity.YEAR:
        return {y: v for y in years if date(y, 1, 1) <= until and (v := history.period_value(str(y))) is not None}
    return {y: v for y in years if (v := history.year_value(y, until)) is not None}


def _assess_period_mean(
    indicator: Indicator,
    target: Target,
    goal: float,
    history: History,
    hierarchy: Hierarchy,
    today: date,
    config: ForecastConfig,
) -> Assessment:
    """The mean of the yearly values from period_start to the milestone year, judged once every year is in."""
    unit = indicator.display_unit
    first_year = target.period_start or target.year
    years = range(first_year, target.year + 1)
    yearly = _year_values(indicator, history, years, min(today, target.deadline) if not indicator.period else today)
    period = f"{first_year}–{target.year}"
    method = "bình quân kép" if indicator.averaging is Averaging.COMPOUND else "bình quân cộng"
    have = f"{len(yearly)}/{len(years)} năm"
    low, high = bounds(indicator, hierarchy, today)
    projected = _project_mean(indicator.averaging, yearly, years, (low, high))
    guess = f"; dự báo {method} cả giai đoạn từ {have}: {fmt(projected, unit)}" if projected is not None else ""
    if len(yearly) == len(years):
        mean = period_mean(indicator.averaging, list(yearly.values()))
        if today > target.deadline:
            status = Status.ACHIEVED if meets(indicator, mean, goal) else Status.MISSED
            reason = f"Tăng {method} {period} {fmt(mean, unit)}, mục tiêu {fmt(goal, unit)}"
            return Assessment(status, reason, mean, goal, goal, mean)
    if today > target.deadline:
        missing = ", ".join(str(y) for y in years if y not in yearly)
        label = str(target.year) if target.year not in yearly else missing.split(", ")[-1]
        result = _awaiting(indicator, label, goal, today, f"số liệu năm {missing} của giai đoạn {period}", guess)
        return Assessment(result.status, result.reason, None, goal, goal, projected, result.overdue)
    if not yearly or projected is None:
        return Assessment(Status.NO_DATA, f"Chưa có số liệu năm nào của giai đoạn {period}", target=goal)
    so_far = period_mean(indicator.averaging, list(yearly.values()))
    result = Assessment(Status.ON_TRACK, "", so_far, goal, goal, projected)
    if worse_by(indicator, projected, goal) > indicator.tolerance:
        reason = f"Dự báo {method} {period} {fmt(projected, unit)} (từ {have}), mục tiêu {fmt(goal, unit)}"
        return _with(result, Status.AT_RISK, reason)
    reason = f"Tăng {method} {have} {fmt(so_far, unit)}{guess}, mục tiêu {fmt(goal, unit)}"
    return _with(result, Status.ON_TRACK, reason)


def _project_mean(
    averaging: Averaging, yearly: dict[int, float], years: range, limits: tuple[float | None, float | None]
) -> float | None:
    """The period mean with missing years filled by the least-squares trend of the known ones (clamped to the
    indicator's range; a single known year fills the others with itself)."""
    if not yearly:
        return None
    line = fit_line(list(map(float, yearly)), list(yearly.values())) if len(yearly) >= 2 else None
    only = next(iter(yearly.values()))
    filled = [yearly[y] if y in yearly else clamp(line[0] + line[1] * y if line else only, *limits) for y in years]
    return period_mean(averaging, filled)
