"""Rollup semantics as pure functions: which values an observation changes and how a value is formed.

A value is always "(indicator, unit) as of the end of a local day". The aggregator computes it from the applied
events (snapshots) or the daily buckets (increments) with the bounds a `ValueSpec` gives, and the unit lineage
(docs/lineage.md, `shared/domain/lineage.py`): a unit is (code, version), an observation belongs to the unit in
force at its observed_at, and a unit's history is its own plus what its predecessors carried to it.

- the reporting unit (leaf): its own latest observation since it came into being (snapshot), else the sum of its
  predecessors' latest numerators / denominators (each predecessor the same way, recursively); or the sum of the
  buckets of itself and its predecessors over the trailing 365 days (increment).
- a rollup unit A on day D: the hierarchy version in force on D decides A's reporting units; each contributes its
  value as above, so a rollup does not reset at a version change. Increments read A's own buckets with signed
  corrections (`increment_rows`), so A is exactly the sum of its reporting units.
- ratio = 100 × Σnumerators / Σdenominators (never an average of percentages); count = Σ child values;
  coverage = reporting units (own or carried) / units in force at the indicator's reporting level (NULL for the
  reporting unit). Value and rank measures are not rolled up. A unit that no longer exists (a district after
  2025-07-01, Đông Sơn after 2025-01-01) is valued as of its last valid day.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from shared.contracts.events import EARLIEST_OBSERVATION
from shared.domain.catalog import Indicator, Level, Measure, Semantics
from shared.domain.hierarchy import Hierarchy, Version
from shared.domain.lineage import Node
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
    reported_at: str = ""  # the indicator's reporting level (its units are the rollup's members)


@dataclass(frozen=True, slots=True)
class Sums:
    """Aggregates the database returns for one ValueSpec."""

    numerator: Decimal | None
    denominator: Decimal | None
    value_sum: Decimal | None
    reporting_children: int
    last_observed_at: datetime | None
    own_children: int = 0  # rollup: reporting units with an observation of their own
    carried_sources: int = 0  # reporting unit: predecessor units whose values it carries


@dataclass(frozen=True, slots=True)
class Computed:
    value: Decimal | None
    numerator: Decimal | None
    denominator: Decimal | None
    reporting_children: int | None
    children_in_force: int | None
    coverage: float | None
    last_observed_at: datetime | None
    carried_from: int | None = None  # reporting unit: predecessor units its value is carried from (0: its own)
    reporting_carried: int | None = None  # rollup: reporting units whose value is carried from predecessors


def rolls_up(indicator: Indicator) -> bool:
    return indicator.measure in (Measure.RATIO, Measure.COUNT)


def chain(hierarchy: Hierarchy, unit: str, day: date) -> tuple[str, ...]:
    """The reporting unit and its ancestors in force on `day`, nearest first. Memoised on the hierarchy like
    value_spec: planning a batch walks the same chains thousands of times (~0.2 s of planning 120,000 events)."""
    memo = hierarchy.chains
    found = memo.get((unit, day))
    if found is None:
        if len(memo) > SPEC_MEMO_SIZE:
            memo.clear()
        found = memo[(unit, day)] = (unit, *(a.code for a in hierarchy.ancestors(unit, day)))
    return found


def as_of_day(hierarchy: Hierarchy, unit: str, today: date) -> date | None:
    """The day a unit's current value is taken at: today, or the last day of its last validity if it vanished
    (memoised on the hierarchy: asked for every unit a planned observation reaches)."""
    memo = hierarchy.as_of_days
    try:
        return memo[(unit, today)]
    except KeyError:
        pass
    if len(memo) > SPEC_MEMO_SIZE:
        memo.clear()
    if hierarchy.node_at(unit, today) is not None:
        found: date | None = today
    else:
        past = [v for v in hierarchy.versions if unit in v.units and v.valid_to is not None and v.valid_to <= today]
        found = max(v.valid_to for v in past if v.valid_to) - timedelta(days=1) if past else None
    memo[(unit, today)] = found
    return found


SPEC_MEMO_SIZE = 20_000
_UNKNOWN = object()
SpecKey = tuple[str, Level, Semantics, Measure, str, date]  # what of an indicator a spec depends on, unit, day


def value_spec(hierarchy: Hierarchy, indicator: Indicator, unit: str, day: date) -> ValueSpec | None:
    """The bounds of (indicator, unit) as of the end of `day`; None when nothing is computed there. Memoised on the
    hierarchy (immutable): planning a batch asks for the same specs many times (every predecessor's event plans
    its heirs' chains), ~45 % of the aggregator's planning time before. Cleared past SPEC_MEMO_SIZE (~8 MB)."""
    key = (indicator.code, indicator.reported_at, indicator.semantics, indicator.measure, unit, day)
    memo = hierarchy.value_specs
    found = memo.get(key, _UNKNOWN)  # not try/except: a backfill misses on most days, and a raise costs ~1 µs
    if found is not _UNKNOWN:
        return found  # type: ignore[return-value]
    if len(memo) > SPEC_MEMO_SIZE:
        memo.clear()
    spec = memo[key] = _value_spec(hierarchy, indicator, unit, day)
    return spec


def _value_spec(hierarchy: Hierarchy, indicator: Indicator, unit: str, day: date) -> ValueSpec | None:
    version: Version | None = hierarchy.version_at(day)
    found = version.units.get(unit) if version else None
    if version is None or found is None:
        return None
    is_leaf = found.level == indicator.reported_at
    if not is_leaf and not rolls_up(indicator):
        return None
    return ValueSpec(
        indicator=indicator.code,
        unit=unit,
        day=day,
        level=found.level,
        is_leaf=is_leaf,
        increment=indicator.semantics is Semantics.INCREMENT,
        version_from=version.valid_from,
        lo_ts=EARLIEST_OBSERVATION,  # the lineage bounds what each predecessor contributes
        hi_ts=start_of_local_day(day + timedelta(days=1)),
        lo_day=day - timedelta(days=WINDOW_DAYS - 1),
        hi_day=day,
        children_in_force=None if is_leaf else len(hierarchy.below((unit, version.valid_from), indicator.reported_at)),
        reported_at=indicator.reported_at,
    )


def affected_until(spec: ValueSpec) -> date:
    """Exclusive end of the days whose value an observation on `spec.day` can change (for late data): through the
    lineage, a snapshot reaches every later day, an increment its 365-day window."""
    return reach(spec.day, spec.increment)


def reach(day: date, increment: bool) -> date:
    """affected_until of an observation on `day` of an increment or a snapshot indicator."""
    return day + timedelta(days=WINDOW_DAYS) if increment else FOREVER


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
    carried_from = sums.carried_sources if spec.is_leaf else None
    reporting_carried = None if spec.is_leaf else sums.reporting_children - sums.own_children
    return Computed(value, numerator, denominator, children, in_force, coverage, sums.last_observed_at, carried_from,
                    reporting_carried)  # fmt: skip


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


def snapshot_parts(hierarchy: Hierarchy, node: Node, observed: Callable[[Node], bool]) -> list[Node]:
    """The units whose latest observations make up a snapshot value of `node`: itself if it has one (`observed`),
    else, for each unit it carries, that unit's parts. The rule SNAPSHOT_SUMS applies in SQL (an own observation
    supersedes what was carried), in Python for reference."""
    if observed(node):
        return [node]
    return [
        part for carried in sorted(hierarchy.carried_to(node)) for part in snapshot_parts(hierarchy, carried, observed)
    ]


def node_key(node: Node) -> str:
    """How a node is named in the database: code@valid_from."""
    return f"{node[0]}@{node[1].isoformat()}"


LineageRow = tuple[date, str, str, str, str, date, date, list[str]]


def lineage_rows(hierarchy: Hierarchy) -> list[LineageRow]:
    """(version_from, unit, level, source code, source node, first day, last day, path) for every unit of every
    version: the pieces of its history (`Hierarchy.sources`), its own first with an empty path."""
    rows = []
    for version in hierarchy.versions:
        for unit in version.units.values():
            for s in hierarchy.sources((unit.code, version.valid_from)):
                rows.append((version.valid_from, unit.code, unit.level, s.node[0], node_key(s.node), s.first_day,
                             s.last_day, [node_key(p) for p in s.path]))  # fmt: skip
    return rows


IncrementRow = tuple[date, str, str, str, date, date, int, bool]


def increment_rows(hierarchy: Hierarchy) -> list[IncrementRow]:
    """(version_from, unit, reporting level, bucket code, first day, last day, sign, own) for every unit: the
    buckets that make up its increment history for indicators reported at that level.

    A reporting unit: its own and its predecessors' buckets. A rollup unit A: its own buckets and those of the units
    of its level it carries, corrected so that A is exactly the sum of its reporting units' histories: + the
    reporting units carried into A's members that A's own history does not hold (a commune that changed district),
    − those A's history holds that were carried elsewhere or to no one (a divided commune)."""
    rows: list[IncrementRow] = []
    levels = sorted({u.level for v in hierarchy.versions for u in v.units.values()})
    for version in hierarchy.versions:
        for unit in version.units.values():
            node = (unit.code, version.valid_from)
            own = hierarchy.sources(node)
            rows += [_increment_row(node, unit.level, s.node, hierarchy, 1, not s.path) for s in own]
            for level in levels:
                members = hierarchy.below(node, level)
                if not members:
                    continue
                wanted = {s.node for m in members for s in hierarchy.sources((m, version.valid_from))}
                held = {(c, s.node[1]) for s in own for c in hierarchy.below(s.node, level)}
                rows += [_increment_row(node, level, s.node, hierarchy, 1, not s.path) for s in own]
                rows += [_increment_row(node, level, n, hierarchy, 1, False) for n in sorted(wanted - held)]
                rows += [_increment_row(node, level, n, hierarchy, -1, False) for n in sorted(held - wanted)]
    return rows


def _increment_row(node: Node, level: str, source: Node, hierarchy: Hierarchy, sign: int, own: bool) -> IncrementRow:
    version = hierarchy.version_of(source)
    last = version.valid_to - timedelta(days=1) if version.valid_to is not None else FOREVER
    return (node[1], node[0], level, source[0], version.valid_from, last, sign, own)
