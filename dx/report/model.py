"""What the yearly report says, assembled without I/O from the rows `dx status` reads and the unit's history.

Every number in a table is the row of `target_status` that `dx status --json` prints (value, expected, target,
projected, status, reason), so the report and the command never disagree. The chart per indicator shows the
reporting unit's actual values (its value at the end of each month, from `daily_values`) beside the planned path
through the catalog's baseline (when it has one) and every milestone target.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from shared.domain.catalog import LEVEL_DEPTH, Catalog, Indicator
from shared.domain.hierarchy import Hierarchy, Unit
from shared.domain.trajectory import History, Point, expected_at, trajectory

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Line:
    """One target row of the report, as `dx status --json` has it, with the unit's name and level."""

    unit: str
    unit_name: str
    level: str
    milestone: str
    value: float | None
    expected: float | None
    target: float | None
    projected: float | None
    status: str
    reason: str


@dataclass(frozen=True)
class ChartPoint:
    day: date
    actual: float | None
    planned: float | None


@dataclass(frozen=True)
class Section:
    """One indicator: the reporting unit's line, the lines of the units under it, and the chart."""

    indicator: Indicator
    milestone: str
    headline: Line | None
    units: list[Line]
    chart: list[ChartPoint]


@dataclass(frozen=True)
class Report:
    year: int
    unit: Unit
    evaluated_at: datetime | None
    sections: list[Section]

    @property
    def title(self) -> str:
        return f"Báo cáo kết quả thực hiện chuyển đổi số năm {self.year}"


def milestone_for(indicator: Indicator, year: int) -> str:
    """The milestone a year reports against: the first one at or after it (the last one after 2030)."""
    years = sorted(int(m) for m in indicator.targets)
    return str(next((y for y in years if y >= year), years[-1]))


def end_of_year(year: int, today: date) -> date:
    """The day the report's units are taken at: 31 December, or today while the year runs."""
    return min(date(year, 12, 31), today)


def report_units(hierarchy: Hierarchy, unit: str, day: date) -> dict[str, Unit]:
    """The reporting unit and every unit under it in force on `day` (districts too, where they exist)."""
    version = hierarchy.version_at(day)
    if version is None or unit not in version.units:
        return {}
    return {u.code: u for u in version.units.values() if hierarchy.is_within(u.code, unit, day)}


def assemble(
    catalog: Catalog,
    hierarchy: Hierarchy,
    year: int,
    unit: str,
    rows: Iterable[Row],
    histories: Mapping[str, History],
    evaluated_at: datetime | None,
    today: date,
) -> Report:
    """The report of `year` for `unit` from status rows (already worst-first) and the unit's histories."""
    day = end_of_year(year, today)
    units = report_units(hierarchy, unit, day)
    if unit not in units:
        raise ValueError(f"unit {unit} is not in force on {day.isoformat()}")
    by_indicator: dict[str, list[Line]] = {}
    for row in rows:
        indicator = catalog.get(row["indicator"])
        found = units.get(row["unit"])
        if indicator is None or found is None or row["milestone"] != milestone_for(indicator, year):
            continue
        by_indicator.setdefault(indicator.code, []).append(_line(row, found))
    sections = []
    for indicator in catalog.indicators:
        lines = by_indicator.get(indicator.code, [])
        headline = next((line for line in lines if line.unit == unit), None)
        below = sorted((line for line in lines if line.unit != unit), key=lambda x: LEVEL_DEPTH[x.level])
        chart = chart_points(indicator, histories.get(indicator.code, History()), day)
        sections.append(Section(indicator, milestone_for(indicator, year), headline, below, chart))
    return Report(year, units[unit], evaluated_at, sections)


def planned_path(indicator: Indicator, history: History) -> list[Point]:
    """The plan's path: the catalog's baseline, else the first observation when it precedes the first milestone,
    then every milestone target."""
    milestones = [Point(t.deadline, t.value) for t in indicator.targets.values()]
    baseline = None
    if indicator.baseline_date is not None and indicator.baseline_value is not None:
        baseline = Point(indicator.baseline_date, indicator.baseline_value)
    elif (first := history.first()) is not None and first.day < min(m.day for m in milestones):
        baseline = first
    return trajectory(baseline, milestones)


def chart_points(indicator: Indicator, history: History, until: date) -> list[ChartPoint]:
    """Month ends from the first observation (or the plan's start) to the last milestone, actual up to `until`."""
    plan = planned_path(indicator, history)
    first = history.first()
    start = min(p.day for p in ([first] if first else []) + plan[:1]) if plan or first else until
    last = max(p.day for p in plan) if plan else until
    return [
        ChartPoint(day, history.as_of(day) if day <= until else None, expected_at(plan, day))
        for day in month_ends(start, max(last, until))
    ]


def month_ends(start: date, end: date) -> list[date]:
    """Every month's last day from start's month through end's month."""
    days = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        following = date(year + month // 12, month % 12 + 1, 1)
        days.append(following - timedelta(days=1))
        year, month = following.year, following.month
    return days


def _line(row: Row, unit: Unit) -> Line:
    return Line(
        unit.code, unit.full_name, unit.level, row["milestone"], row["value"], row["expected"], row["target"],
        row["projected"], row["status"], row["reason"],
    )  # fmt: skip


def status_counts(lines: Sequence[Line]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in lines:
        counts[line.status] = counts.get(line.status, 0) + 1
    return counts
