"""Planned trajectories (DESIGN §7): piecewise linear from the baseline through the milestone targets.

Also the daily history of one (indicator, unit) as the alerter loads it: value as of a date, first observation,
the points of a window, the value of a year (its last observation).
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
    """Daily values of one (indicator, unit), sorted by day (one value per day: the value at the end of it)."""

    points: tuple[Point, ...] = ()
    _days: list[date] = field(default_factory=list, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._days.extend(p.day for p in self.points)

    @classmethod
    def of(cls, rows: Iterable[tuple[date, float]]) -> "History":
        unique = {day: value for day, value in rows}
        return cls(tuple(Point(d, unique[d]) for d in sorted(unique)))

    def first(self) -> Point | None:
        return self.points[0] if self.points else None

    def last_on_or_before(self, day: date) -> Point | None:
        i = bisect_right(self._days, day)
        return self.points[i - 1] if i else None

    def as_of(self, day: date) -> float | None:
        point = self.last_on_or_before(day)
        return point.value if point else None

    def pairs(self) -> list[tuple[date, float]]:
        return [(p.day, p.value) for p in self.points]

    def year_value(self, year: int, until: date) -> float | None:
        """The last observation within `year` made on or before `until`."""
        point = self.last_on_or_before(min(date(year, 12, 31), until))
        return point.value if point and point.day.year == year else None


def expected_at(points: Sequence[Point], day: date) -> float | None:
    """The planned value at `day`: flat before the first point and after the last, linear in between."""
    if not points:
        return None
    if day <= points[0].day:
        return points[0].value
    for left, right in pairwise(points):
        if day <= right.day:
            span = (right.day - left.day).days
            return left.value + (right.value - left.value) * (day - left.day).days / span
    return points[-1].value


def trajectory(baseline: Point | None, milestones: Iterable[Point]) -> list[Point]:
    """Baseline → each milestone (deadline, target) after it; without a baseline, the milestones alone."""
    ordered = sorted(milestones)
    if baseline is None:
        return ordered
    return [baseline, *(m for m in ordered if m.day > baseline.day)]
