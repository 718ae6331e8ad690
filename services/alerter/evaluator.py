"""Which targets to evaluate and their statuses, from data loaded in bulk (pure: the store loads, this decides)."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from services.alerter.rules import TargetRow
from shared.domain.applicability import gone_assessment, gone_unit, gone_units, history_start
from shared.domain.catalog import LEVEL_DEPTH, Catalog, Indicator, Measure, Target, TargetKind
from shared.domain.forecast import ForecastConfig
from shared.domain.hierarchy import Hierarchy
from shared.domain.status import Status, applies, assess
from shared.domain.timeutil import local_date
from shared.domain.trajectory import History
from shared.names import PROVINCE_CODE

Pair = tuple[str, str]
Key = tuple[str, str, str]


@dataclass(frozen=True)
class Current:
    """A row of current_values (what the gauges show)."""

    value: float | None
    coverage: float | None
    last_observed_at: datetime | None
    carried_from: int | None = None  # reporting unit: predecessor units its value is carried from (docs/lineage.md)
    reporting_carried: int | None = None  # rollup: reporting units whose value is carried


@dataclass
class Inputs:
    histories: dict[Pair, History] = field(default_factory=dict)
    current: dict[Pair, Current] = field(default_factory=dict)


@dataclass(frozen=True)
class HistoryQuery:
    """What to load: the window's points, and the last point on or before each of `as_of` (per pair) and each
    year end of `year_ends` (for the pairs of period-mean indicators only)."""

    pairs: list[Pair]
    window_start: date
    today: date
    as_of: list[date]
    period_pairs: list[Pair]
    year_ends: list[date]
    periodic_pairs: list[Pair] = field(default_factory=list)  # indicators with a reference period: period_values


def history_query(catalog: Catalog, pairs: Iterable[Pair], today: date, config: ForecastConfig) -> HistoryQuery:
    pairs = sorted(set(pairs))
    deadlines = {t.deadline for i in catalog.indicators for t in i.milestones() if t.deadline < today}
    period = {i.code for i in catalog.indicators if any(t.kind is TargetKind.PERIOD_MEAN for t in i.milestones())}
    spans = [(t.period_start, t.year) for i in catalog.indicators for t in i.milestones() if t.period_start]
    years = {y for first, last in spans for y in range(first, last + 1)}
    return HistoryQuery(
        pairs=pairs,
        window_start=today - timedelta(days=config.window_days),
        today=today,
        as_of=sorted(deadlines | {today}),
        period_pairs=[p for p in pairs if p[0] in period],
        year_ends=sorted(min(date(y, 12, 31), today) for y in years if date(y, 1, 1) <= today),
        periodic_pairs=[p for p in pairs if (i := catalog.get(p[0])) is not None and i.period is not None],
    )


def keys_for(catalog: Catalog, hierarchy: Hierarchy, pairs: Iterable[Pair], today: date) -> list[Key]:
    """The (indicator, unit, milestone) keys of these pairs that are evaluated at `today`."""
    keys: list[Key] = []
    for code, unit in pairs:
        ind = catalog.get(code)
        if ind is None:
            continue
        keys.extend((code, unit, t.milestone) for t in ind.milestones()
                    if applies(ind, t, unit, hierarchy, today) or _gone(ind, t, unit, hierarchy, today))  # fmt: skip
    return keys


def own_history(history: History, code: str, unit: str, hierarchy: Hierarchy, today: date) -> History:
    """The points of a code's history that belong to the unit it names today (docs/lineage.md: a reused code's
    earlier unit is not this one unless it carried its history to it)."""
    start = history_start(unit, today, hierarchy)
    first = history.first()
    if start is None or first is None or first.day >= start:
        return history
    return History.of([(day, value) for day, value in history.pairs() if day >= start])


def gone_keys(catalog: Catalog, hierarchy: Hierarchy, today: date) -> list[Key]:
    """The keys of units that no longer exist on a ratio milestone's reference day (`not_applicable` rows)."""
    return [(i.code, u.code, t.milestone) for i in catalog.indicators for t in i.milestones()
            for u in gone_units(i, t, hierarchy, today)]  # fmt: skip


def _gone(ind: Indicator, target: Target, unit: str, hierarchy: Hierarchy, today: date) -> bool:
    found = gone_unit(unit, min(today, target.deadline), hierarchy) if ind.measure is Measure.RATIO else None
    return found is not None and LEVEL_DEPTH[found.level] <= LEVEL_DEPTH[ind.reported_at]


def evaluate(
    catalog: Catalog, hierarchy: Hierarchy, keys: Iterable[Key], inputs: Inputs, now: datetime, config: ForecastConfig
) -> list[TargetRow]:
    today = local_date(now)
    rows = []
    for code, unit, milestone in keys:
        ind = catalog[code]
        target = ind.targets[milestone]
        history = own_history(inputs.histories.get((code, unit), History()), code, unit, hierarchy, today)
        current = inputs.current.get((code, unit))
        gone = gone_unit(unit, min(today, target.deadline), hierarchy) if unit != PROVINCE_CODE else None
        if gone is not None and gone.level == ind.reported_at and history.first() is None and current is None:
            continue  # a reporting unit that vanished without ever reporting: nothing to state
        result = gone_assessment(ind, target, gone, history) if gone else assess(ind, target, history, hierarchy,
                                                                                   today, config)  # fmt: skip
        last = current.last_observed_at if current else None
        upcoming = [t.milestone for t in ind.milestones() if t.deadline >= today]
        stale = result.overdue or (
            bool(upcoming)
            and milestone == upcoming[0]
            and result.status is not Status.NOT_APPLICABLE
            and last is not None
            and now - last > timedelta(days=ind.reporting_interval_days)
        )
        measured = (result.value, result.expected, result.target, result.projected)
        rows.append(TargetRow(code, unit, milestone, *measured, result.status, result.reason, stale, last))
    return rows
