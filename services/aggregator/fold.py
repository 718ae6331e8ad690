"""Which rows a batch of newly applied events changes: buckets to add and values to recompute (pure)."""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from services.aggregator.decode import Fact
from shared.domain.catalog import Catalog, Semantics
from shared.domain.hierarchy import Hierarchy
from shared.domain.rollup import FOREVER, ValueSpec, affected_until, as_of_day, chain, reach, value_spec

SeriesDay = tuple[str, str, date]


@dataclass
class Bucket:
    numerator: int = 0
    denominator: int = 0
    events: int = 0
    last_observed_at: datetime | None = None


@dataclass
class SeriesSum:
    """The events of one (indicator, unit, local day) in a batch: their sums and the latest of them (by observed_at,
    then event_id)."""

    numerator: int
    denominator: int
    events: int
    observed_at: datetime
    event_id: str
    latest_numerator: int | None
    latest_denominator: int | None
    latest_value: float | None

    def take_if_later(
        self, observed_at: datetime, event_id: str, numerator: int | None, denominator: int | None, value: float | None
    ) -> None:
        """The day's latest measures: the later `observed_at` wins, a tie the greater event_id (as in the
        snapshot tables)."""
        if (observed_at, event_id) > (self.observed_at, self.event_id):
            self.observed_at, self.event_id = observed_at, event_id
            self.latest_numerator, self.latest_denominator, self.latest_value = numerator, denominator, value


@dataclass
class Plan:
    """Buckets to add, snapshot days to upsert, daily values and current values to recompute, late days to
    propagate."""

    buckets: dict[SeriesDay, Bucket] = field(default_factory=dict)
    snapshots: dict[SeriesDay, SeriesSum] = field(default_factory=dict)  # reporting units' latest per day
    daily: dict[SeriesDay, ValueSpec] = field(default_factory=dict)
    current: dict[tuple[str, str], ValueSpec] = field(default_factory=dict)
    late: dict[SeriesDay, date] = field(default_factory=dict)  # (indicator, unit, day) → until (exclusive)
    seen_current: set[SeriesDay] = field(default_factory=set)  # (indicator, unit, version) whose current is done


def plan(events: Iterable[Fact], catalog: Catalog, hierarchy: Hierarchy, today: date) -> Plan:
    """The plan of a batch of new events."""
    return plan_series(sums_by_series(events), catalog, hierarchy, today)


def sums_by_series(events: Iterable[Fact]) -> dict[SeriesDay, SeriesSum]:
    """The events of a batch summed per (indicator, unit, local day)."""
    series: dict[SeriesDay, SeriesSum] = {}
    for event in events:
        add_fact(series, event)
    return series


def add_fact(series: dict[SeriesDay, SeriesSum], e: Fact) -> None:
    key = (e.indicator, e.unit, e.day)
    s = series.get(key)
    if s is None:
        series[key] = SeriesSum(e.numerator or 0, e.denominator or 0, 1, e.observed_at, e.event_id, e.numerator,
                                e.denominator, e.value)  # fmt: skip
        return
    s.numerator += e.numerator or 0
    s.denominator += e.denominator or 0
    s.events += 1
    s.take_if_later(e.observed_at, e.event_id, e.numerator, e.denominator, e.value)


@dataclass(frozen=True, slots=True)
class SeriesPlan:
    """What one (indicator, reporting unit, day) touches, whatever its events: the specs to recompute and the bucket
    keys of its chain (the same on every batch of a day, so it is worked out once: Planner)."""

    daily: tuple[tuple[SeriesDay, ValueSpec], ...]
    current: tuple[tuple[tuple[str, str], ValueSpec], ...]
    late: tuple[tuple[SeriesDay, date], ...]
    buckets: tuple[SeriesDay, ...]


class Planner:
    """plan_series with a memo of today's series-days' SeriesPlans. Live traffic reports the same few thousand
    series-days all day: planning a batch of 10,000 live events took ~60 ms without the memo (chains and specs of
    ~1,000 series-days) and a few ms with it. Only today's are kept: a history series-day's plan holds the specs of
    its heirs and later days (kB each; keeping them all put ~20 MB on the aggregator in the benchmark's chain), and
    a backfill rarely repeats one. Cleared past `size` entries (Thanh Hóa has 166 communes × 13 indicators)."""

    def __init__(self, catalog: Catalog, hierarchy: Hierarchy, size: int = 10_000) -> None:
        self.catalog, self.hierarchy, self.size = catalog, hierarchy, size
        self.memo: dict[tuple[SeriesDay, date], SeriesPlan] = {}
        self.currents = Currents()

    def __call__(self, series: dict[SeriesDay, SeriesSum], today: date) -> Plan:
        """Each distinct (indicator, unit, day) is worked out once per batch; an increment's sum is added once into
        the buckets of its chain, a snapshot's latest observation is kept for its day."""
        result, catalog = Plan(), self.catalog
        daily, current, late, memo = result.daily, result.current, result.late, self.memo
        if len(memo) > self.size:
            memo.clear()
        currents = self.currents.of(today)
        for key, total in series.items():
            planned = memo.get((key, today))
            if planned is None:
                planned = series_plan(key, catalog, self.hierarchy, today, currents)
                if key[2] == today:
                    memo[(key, today)] = planned
            for spec_key, spec in planned.daily:
                daily.setdefault(spec_key, spec)
            current.update(planned.current)
            for late_key, until in planned.late:
                late[late_key] = max(until, late.get(late_key, until))
            if catalog[key[0]].semantics is Semantics.SNAPSHOT:
                result.snapshots[key] = total
            add = Bucket(total.numerator, total.denominator, total.events, total.observed_at)
            for bucket_key in planned.buckets:
                _merge(result.buckets, bucket_key, add)
        return result


def plan_series(series: dict[SeriesDay, SeriesSum], catalog: Catalog, hierarchy: Hierarchy, today: date) -> Plan:
    """The plan of a batch's series-days (Planner without a memo kept between calls)."""
    return Planner(catalog, hierarchy)(series, today)


CurrentKey = tuple[str, str, date, bool]  # indicator, unit, version_from, is_leaf


class Currents:
    """current_spec's results for one day: a series-day plans the current values of its chain and its heirs', the
    same for every day of a version, so a backfill's batch (each event a series-day of its own) asked for the same few
    thousand ~10,000 times (~30 % of its planning)."""

    def __init__(self) -> None:
        self.day: date | None = None
        self.specs: dict[CurrentKey, ValueSpec | None] = {}

    def of(self, today: date) -> dict[CurrentKey, ValueSpec | None]:
        if today != self.day:
            self.day, self.specs = today, {}
        return self.specs


def series_plan(
    key: SeriesDay, catalog: Catalog, hierarchy: Hierarchy, today: date,
    currents: dict[CurrentKey, ValueSpec | None] | None = None,
) -> SeriesPlan:  # fmt: skip
    """`currents`: current_spec's memo for `today` (Currents.of), or None."""
    code, unit, day = key
    result, buckets = Plan(), list[SeriesDay]()
    _plan_series(result, code, unit, day, catalog, hierarchy, today, buckets, {} if currents is None else currents)
    return SeriesPlan(tuple(result.daily.items()), tuple(result.current.items()), tuple(result.late.items()),
                      tuple(buckets))  # fmt: skip


def _plan_series(
    result: Plan,
    code: str,
    reporting_unit: str,
    day: date,
    catalog: Catalog,
    hierarchy: Hierarchy,
    today: date,
    buckets: list[SeriesDay],
    currents: dict[CurrentKey, ValueSpec | None],
) -> None:
    """The specs (daily, current, late) of a series-day, and the bucket keys of its chain."""
    indicator = catalog[code]
    for unit in chain(hierarchy, reporting_unit, day):
        key = (code, unit, day)
        spec = result.daily.get(key)
        if spec is None:
            spec = value_spec(hierarchy, indicator, unit, day)
            if spec is None:
                continue
            result.daily[key] = spec
            if day < today:
                result.late[key] = affected_until(spec)
            _plan_current(result, catalog, hierarchy, code, unit, today, spec.version_from, spec.is_leaf, currents)
        if spec.increment:
            buckets.append(key)
    node = hierarchy.node_at(reporting_unit, day)
    for heir_code, heir_from in hierarchy.heirs_after(node) if node is not None else ():
        _plan_heir(result, catalog, hierarchy, code, heir_code, heir_from, day, today, currents)


def _plan_current(
    result: Plan, catalog: Catalog, hierarchy: Hierarchy, code: str, unit: str, today: date, version_from: date,
    is_leaf: bool, currents: dict[CurrentKey, ValueSpec | None],
) -> None:  # fmt: skip
    if (code, unit, version_from) not in result.seen_current:
        result.seen_current.add((code, unit, version_from))
        key = (code, unit, version_from, is_leaf)
        try:
            current = currents[key]
        except KeyError:
            current = currents[key] = current_spec(catalog, hierarchy, code, unit, today, version_from, is_leaf)
        if current is not None:
            result.current[(code, unit)] = current


def _plan_heir(
    result: Plan, catalog: Catalog, hierarchy: Hierarchy, code: str, heir: str, heir_from: date, day: date,
    today: date, currents: dict[CurrentKey, ValueSpec | None],
) -> None:  # fmt: skip
    """A later unit that carries this observation (docs/lineage.md): its current value and its chain's, its daily
    row of the day it came into being (so a history read by code starts with the carried value) and its later daily
    rows are recomputed."""
    version = hierarchy.version_of((heir, heir_from))
    for unit in chain(hierarchy, heir, heir_from):
        spec = value_spec(hierarchy, catalog[code], unit, heir_from)
        if spec is None:
            continue
        _plan_current(result, catalog, hierarchy, code, unit, today, heir_from, spec.is_leaf, currents)
        if heir_from <= today:
            result.daily.setdefault((code, unit, heir_from), spec)
        until = min(reach(day, spec.increment), version.valid_to or FOREVER)
        after = heir_from - timedelta(days=1)
        if after < today and after < until:
            result.late[(code, unit, after)] = max(until, result.late.get((code, unit, after), until))


def current_spec(
    catalog: Catalog, hierarchy: Hierarchy, indicator: str, unit: str, today: date, version_from: date, is_leaf: bool
) -> ValueSpec | None:
    """The current value's spec, if the unit `unit` names in `version_from` is the one valued today (a rollup code
    reused by another unit later is not; such a unit's later value is reached through its heirs)."""
    spec = spec_as_of_today(catalog, hierarchy, indicator, unit, today)
    if spec is None or (not is_leaf and spec.version_from != version_from):
        return None
    return spec


def spec_as_of_today(
    catalog: Catalog, hierarchy: Hierarchy, indicator: str, unit: str, today: date
) -> ValueSpec | None:
    """The current value's spec: as of today, or as of the last valid day of a unit that no longer exists."""
    as_of = as_of_day(hierarchy, unit, today)
    return None if as_of is None else value_spec(hierarchy, catalog[indicator], unit, as_of)


def late_specs(rows: Iterable[SeriesDay], catalog: Catalog, hierarchy: Hierarchy) -> dict[SeriesDay, ValueSpec]:
    """Specs for existing daily rows after a late observation (their value may include it)."""
    out: dict[SeriesDay, ValueSpec] = {}
    for indicator, unit, day in rows:
        spec = value_spec(hierarchy, catalog[indicator], unit, day)
        if spec is not None:
            out[(indicator, unit, day)] = spec
    return out


def merge_plan(into: Plan, other: Plan) -> None:
    """Add a later batch's plan to `into`: the result is the plan of both batches' events together (buckets summed,
    the later snapshot of a day kept, every spec once, each late day's farthest reach; a current spec from the later
    plan wins, as it may be planned on a later day)."""
    for key, bucket in other.buckets.items():
        _merge(into.buckets, key, bucket)
    for key, snap in other.snapshots.items():
        kept = into.snapshots.get(key)
        if kept is None:
            into.snapshots[key] = replace(snap)
            continue
        kept.numerator += snap.numerator
        kept.denominator += snap.denominator
        kept.events += snap.events
        kept.take_if_later(snap.observed_at, snap.event_id, snap.latest_numerator, snap.latest_denominator,
                           snap.latest_value)  # fmt: skip
    for key, spec in other.daily.items():
        into.daily.setdefault(key, spec)
    into.current.update(other.current)
    for key, until in other.late.items():
        into.late[key] = max(until, into.late.get(key, until))


def _merge(buckets: dict[SeriesDay, Bucket], key: SeriesDay, add: Bucket) -> None:
    bucket = buckets.get(key)
    if bucket is None:
        buckets[key] = Bucket(add.numerator, add.denominator, add.events, add.last_observed_at)
        return
    bucket.numerator += add.numerator
    bucket.denominator += add.denominator
    bucket.events += add.events
    assert bucket.last_observed_at is not None and add.last_observed_at is not None
    bucket.last_observed_at = max(bucket.last_observed_at, add.last_observed_at)


def exact(value: float | None) -> Decimal | None:
    """The decimal a JSON number means (its shortest repr), so sums of values are exact."""
    return None if value is None else Decimal(repr(value))
