"""Rollup semantics (DESIGN §4) as pure functions: which values an observation changes and how a value is formed.

A value is always "(indicator, unit) as of the end of a local day". The aggregator computes it from the applied
events (snapshots) or the daily buckets (increments) with the bounds a `ValueSpec` gives:

- the reporting unit (leaf): its own latest observation by observed_at (snapshot), or the sum of its buckets over
  the trailing 365 days (increment); codes are taken as they are, whatever version they were observed in.
- a rollup unit A on day D: the hierarchy version in force on D decides A's descendants, and only observations
  dated inside that version count. Hence the lead's ruling on the 2025 reform: the province's current total after
  2025-07-01 uses only observations dated ≥ 2025-07-01 (merged-away communes are no ghosts), and a unit that no
  longer exists (a district after 2025-07-01, Đông Sơn after 2025-01-01) is valued as of its last valid day, so
  its last rollup stays frozen. `children_in_force` counts A's children in that same version.
- ratio = 100 × Σnumerators / Σdenominators (never an average of percentages); count = Σ child values;
  coverage = reporting children / children in force (NULL for the reporting unit). Value and rank measures are
  not rolled up.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from shared.contracts.events import EARLIEST_OBSERVATION
from shared.domain.catalog import Indicator, Measure, Semantics
from shared.domain.hierarchy import Hierarchy, Version
from shared.domain.timeutil import start_of_local_day

WINDOW_DAYS = 365
FOREVER = date(9999, 12, 31)
_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class ValueSpec:
    """What to compute for (indicator, unit) as of the end of `day`, with the bounds of what counts."""

    indicator: str
    unit: str
    day: date
    level: str
    is_leaf: bool
    increment: bool
    version_from: date
    lo_ts: datetime  # snapshots: observations in [lo_ts, hi_ts)
    hi_ts: datetime
    lo_day: date  # increments: buckets in [lo_day, hi_day]
    hi_day: date
    children_in_force: int | None


@dataclass(frozen=True, slots=True)
class Sums:
    """Aggregates the database returns for one ValueSpec."""

    numerator: Decimal | None
    denominator: Decimal | None
    value_sum: Decimal | None
    reporting_children: int
    last_observed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Computed:
    value: Decimal | None
    numerator: Decimal | None
    denominator: Decimal | None
    reporting_children: int | None
    children_in_force: int | None
    coverage: float | None
    last_observed_at: datetime | None


def rolls_up(indicator: Indicator) -> bool:
    return indicator.measure in (Measure.RATIO, Measure.COUNT)


def chain(hierarchy: Hierarchy, unit: str, day: date) -> list[str]:
    """The reporting unit and its ancestors in force on `day`, nearest first."""
    return [unit, *(a.code for a in hierarchy.ancestors(unit, day))]


def as_of_day(hierarchy: Hierarchy, unit: str, today: date) -> date | None:
    """The day a unit's current value is taken at: today, or the last day of its last validity if it vanished."""
    if hierarchy.resolve(unit, today) is not None:
        return today
    past = [v for v in hierarchy.versions if unit in v.units and v.valid_to is not None and v.valid_to <= today]
    return max(v.valid_to for v in past if v.valid_to) - timedelta(days=1) if past else None


def value_spec(hierarchy: Hierarchy, indicator: Indicator, unit: str, day: date) -> ValueSpec | None:
    """The bounds of (indicator, unit) as of the end of `day`; None when nothing is computed there."""
    version: Version | None = hierarchy.version_at(day)
    found = version.units.get(unit) if version else None
    if version is None or found is None:
        return None
    is_leaf = found.level == indicator.reported_at
    if not is_leaf and not rolls_up(indicator):
        return None
    first_day = day - timedelta(days=WINDOW_DAYS - 1)
    return ValueSpec(
        indicator=indicator.code,
        unit=unit,
        day=day,
        level=found.level,
        is_leaf=is_leaf,
        increment=indicator.semantics is Semantics.INCREMENT,
        version_from=version.valid_from,
        lo_ts=EARLIEST_OBSERVATION if is_leaf else start_of_local_day(version.valid_from),
        hi_ts=start_of_local_day(day + timedelta(days=1)),
        lo_day=first_day if is_leaf else max(first_day, version.valid_from),
        hi_day=day,
        children_in_force=None if is_leaf else len(version.children.get(unit, ())),
    )


def affected_until(hierarchy: Hierarchy, spec: ValueSpec) -> date:
    """Exclusive end of the days whose value an observation on `spec.day` can change (for late data)."""
    end = FOREVER
    if spec.increment:
        end = spec.day + timedelta(days=WINDOW_DAYS)
    if not spec.is_leaf:
        version = hierarchy.version_at(spec.day)
        if version is not None and version.valid_to is not None:
            end = min(end, version.valid_to)
    return end


def percent(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """100 × numerator / denominator: a ratio of sums, in percent."""
    return _HUNDRED * numerator / denominator if denominator else None


def compose(indicator: Indicator, spec: ValueSpec, sums: Sums) -> Computed:
    """The value in the indicator's unit, with coverage, from the sums over the spec's bounds."""
    if indicator.measure is Measure.RATIO:
        num, den = sums.numerator or Decimal(0), sums.denominator or Decimal(0)
        value, numerator, denominator = percent(num, den), num, den
    else:
        value, numerator, denominator = sums.value_sum, None, None
    children = None if spec.is_leaf else sums.reporting_children
    in_force = spec.children_in_force
    coverage = children / in_force if children is not None and in_force else None
    return Computed(value, numerator, denominator, children, in_force, coverage, sums.last_observed_at)


def tree_rows(hierarchy: Hierarchy) -> list[tuple[date, str, str, str]]:
    """(version_from, ancestor, descendant, ancestor's direct child on the path) for every version."""
    rows = []
    for version in hierarchy.versions:
        for unit in version.units.values():
            below = unit.code
            parent = unit.parent_code
            while parent is not None:
                rows.append((version.valid_from, parent, unit.code, below))
                below = parent
                parent = version.units[parent].parent_code
    return rows
