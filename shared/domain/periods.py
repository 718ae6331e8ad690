"""Reference periods of statistics: "YYYY", "YYYY-Qn" or "YYYY-MM" (the period a value describes, distinct from
when it was observed or published). Rules in docs/judgement.md."""

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

PERIOD_PATTERN = r"^20[0-9]{2}(-Q[1-4]|-(0[1-9]|1[0-2]))?$"
_PERIOD = re.compile(PERIOD_PATTERN, re.ASCII)


class Granularity(StrEnum):
    YEAR = "year"
    QUARTER = "quarter"
    MONTH = "month"


GRANULARITY_FORMAT = {Granularity.YEAR: '"YYYY"', Granularity.QUARTER: '"YYYY-Qn"', Granularity.MONTH: '"YYYY-MM"'}


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date  # last local day of the period
    label: str
    granularity: Granularity


def parse_period(text: str) -> Period | None:
    """The period a label names, or None when the label is not one."""
    if not _PERIOD.fullmatch(text):
        return None
    year = int(text[:4])
    if len(text) == 4:
        return Period(date(year, 1, 1), date(year, 12, 31), text, Granularity.YEAR)
    if text[5] == "Q":
        first = 3 * (int(text[6]) - 1) + 1
        return Period(date(year, first, 1), _month_end(year, first + 2), text, Granularity.QUARTER)
    month = int(text[5:])
    return Period(date(year, month, 1), _month_end(year, month), text, Granularity.MONTH)


def period_of(granularity: Granularity, day: date) -> str:
    """The label of the period of this granularity that contains `day`."""
    if granularity is Granularity.YEAR:
        return f"{day.year}"
    if granularity is Granularity.QUARTER:
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year}-{day.month:02d}"


def closing_period(granularity: Granularity, year: int) -> str:
    """The period that ends on 31 December of `year` (the one a milestone of that year is judged on)."""
    return period_of(granularity, date(year, 12, 31))


def expected_publication(period: Period, lag_days: int) -> date:
    """The day the official figure of `period` is expected: `lag_days` after the period's last day."""
    return period.end + timedelta(days=lag_days)


def _month_end(year: int, month: int) -> date:
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return nxt - timedelta(days=1)
