"""Least-squares trends projected to a date: over a trailing window of daily history, or over the last reference
periods of a periodic statistic (rules in docs/judgement.md)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class ForecastConfig:
    """How much recent history the trend uses, and how many distinct days it needs to say anything."""

    window_days: int = 365
    min_points: int = 3
    periods: int = 5  # periodic statistics: the trend is fitted over this many latest periods
    full_periods: int = 3  # with fewer (but at least 2), the tolerance of `at_risk` is doubled (WIDE_TOLERANCE)


WIDE_TOLERANCE = 2.0  # a two-period trend is a line through two points: it needs a wider margin to be believed


def fit_line(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float] | None:
    """Ordinary least squares y = a + b·x; None when x has no spread (fewer than two distinct x)."""
    n = len(xs)
    if n < 2:
        return None
    mean_x = sum(xs) / n
    mean_y = sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    return mean_y - slope * mean_x, slope


def clamp(value: float, low: float | None, high: float | None) -> float:
    if low is not None and value < low:
        return low
    if high is not None and value > high:
        return high
    return value


def project(
    points: Sequence[tuple[date, float]],
    today: date,
    at: date,
    config: ForecastConfig,
    bounds: tuple[float | None, float | None] = (None, None),
) -> float | None:
    """The trend of the points in (today − window, today] extended to `at`; None with too few points."""
    start = today.toordinal() - config.window_days
    recent = [(d.toordinal(), v) for d, v in points if start < d.toordinal() <= today.toordinal()]
    if len({x for x, _ in recent}) < max(config.min_points, 2):
        return None
    line = fit_line([x for x, _ in recent], [y for _, y in recent])
    if line is None:
        return None
    intercept, slope = line
    return clamp(intercept + slope * at.toordinal(), *bounds)


@dataclass(frozen=True)
class PeriodTrend:
    projected: float
    periods: int  # how many periods the line went through
    tolerance_factor: float  # 1, or WIDE_TOLERANCE when fewer than `full_periods` were available


def project_periods(
    points: Sequence[tuple[date, float]],
    at: date,
    config: ForecastConfig,
    bounds: tuple[float | None, float | None] = (None, None),
) -> PeriodTrend | None:
    """The trend of the last `config.periods` period values (x = the period's last day) extended to `at`; None with
    fewer than two periods."""
    recent = sorted(points)[-config.periods :]
    if len(recent) < 2:
        return None
    line = fit_line([d.toordinal() for d, _ in recent], [v for _, v in recent])
    if line is None:
        return None
    intercept, slope = line
    factor = 1.0 if len(recent) >= config.full_periods else WIDE_TOLERANCE
    return PeriodTrend(clamp(intercept + slope * at.toordinal(), *bounds), len(recent), factor)
