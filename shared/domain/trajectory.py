"""The plan's path: piecewise linear from the baseline through the milestone targets (rule in docs/judgement.md).

Also the history of one (indicator, unit) as the alerter loads it: daily values (value as of a date, first
observation, the points of a window, the value of a year) and, for indicators with a reference period, the value
of each period.
"""

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise


@dataclass(frozen=True, order=True)
class Point:
    day: date
    value: float


@dataclass(frozen=True)
class History:
    """Daily values of one (indicator, unit), sorted by day (one value per day: the value at the end of it; None
    when the day's 365-day window held nothing), and the value of each reference period."""

    points: tuple[tuple[date, float | None], ...] = ()
    periods: tuple[tuple[str, float], ...] = ()  # (period label, value), sorted by label
    _days: list[date] = field(default_factory=list, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._days.extend(day for day, _ in self.points)

    @classmethod
    def of(cls, rows: Iterable[tuple[date, float | None]], periods: Iterable[tuple[str, float]] = ()) -> "History":
        unique = dict(rows)
        return cls(tuple((d, unique[d]) for d in sorted(unique)), tuple(sorted(dict(periods).items())))

    def first(self) -> Point | None:
        return next((Point(d, v) for d, v in self.points if v is not None), None)

    def last_on_or_before(self, day: date) -> Point | None:
        i = bisect_right(self._days, day)
        if not i:
            return None
        found, value = self.points[i - 1]
        return None if value is None else Point(found, value)

    def as_of(self, day: date) -> float | None:
        point = self.last_on_or_before(day)
        return point.value if point else None

    def pairs(self) -> list[tuple[date, float]]:
        return [(d, v) for d, v in self.points if v is not None]

    def year_value(self, year: int, until: date) -> float | None:
        """The last observation within `year` made on or before `until`."""
        point = self.last_on_or_before(min(date(year, 12, 31), until))
        return point.value if point and point.day.year == year else None

    def period_value(self, label: str) -> float | None:
        return next((v for p, v in self.periods if p == label), None)


def expected_at(points: Sequence[Point], day: date) -> float | None:
    """The planned value at `day`: none before the path starts, linear between points, flat after the last."""
    if not points or day < points[0].day:
        return None
    for left, right in pairwise(points):
        if day <= right.day:
            span = (right.day - left.day).days
            return left.value + (right.value - left.value) * (day - left.day).days / span
    return points[-1].value


def trajectory(baseline: Point | None, milestones: Iterable[Point], first: Point | None = None) -> list[Point]:
    """The plan's path: the catalog's baseline, else the first observation only when it precedes the first
    milestone, then each milestone (deadline, target) after it; with neither, the milestones alone (no plan
    before the first one)."""
    ordered = sorted(milestones)
    if baseline is None and first is not None and (not ordered or first.day < ordered[0].day):
        baseline = first
    if baseline is None:
        return ordered
    return [baseline, *(m for m in ordered if m.day > baseline.day)]
