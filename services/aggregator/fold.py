"""Which rows a batch of newly applied events changes: buckets to add and values to recompute (pure)."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from shared.domain.catalog import Catalog
from shared.domain.events import AcceptedEvent
from shared.domain.hierarchy import Hierarchy
from shared.domain.rollup import ValueSpec, affected_until, as_of_day, chain, value_spec
from shared.domain.timeutil import local_date

SeriesDay = tuple[str, str, date]


@dataclass
class Bucket:
    numerator: int = 0
    denominator: int = 0
    events: int = 0
    last_observed_at: datetime | None = None


@dataclass
class Plan:
    """Buckets to add, daily values and current values to recompute, and late days to propagate."""

    buckets: dict[SeriesDay, Bucket] = field(default_factory=dict)
    daily: dict[SeriesDay, ValueSpec] = field(default_factory=dict)
    current: dict[tuple[str, str], ValueSpec] = field(default_factory=dict)
    late: dict[SeriesDay, date] = field(default_factory=dict)  # (indicator, unit, day) → until (exclusive)

    def specs(self) -> dict[SeriesDay, ValueSpec]:
        """Every distinct value to compute (a current value as of today is also today's daily value)."""
        out = dict(self.daily)
        out.update({(s.indicator, s.unit, s.day): s for s in self.current.values()})
        return out


def plan(events: Iterable[AcceptedEvent], catalog: Catalog, hierarchy: Hierarchy, today: date) -> Plan:
    """Each distinct (indicator, unit, day) is worked out once per batch; buckets add every event."""
    result = Plan()
    chains: dict[tuple[str, date], list[str]] = {}
    seen_current: set[tuple[str, str, date]] = set()
    for event in events:
        indicator = catalog[event.indicator]
        day = local_date(event.observed_at)
        units = chains.get((event.unit, day))
        if units is None:
            units = chains[(event.unit, day)] = chain(hierarchy, event.unit, day)
        for unit in units:
            key = (indicator.code, unit, day)
            spec = result.daily.get(key)
            if spec is None:
                spec = value_spec(hierarchy, indicator, unit, day)
                if spec is None:
                    continue
                result.daily[key] = spec
                if day < today:
                    result.late[key] = affected_until(hierarchy, spec)
                if (indicator.code, unit, spec.version_from) not in seen_current:
                    seen_current.add((indicator.code, unit, spec.version_from))
                    current = current_spec(
                        catalog, hierarchy, indicator.code, unit, today, spec.version_from, spec.is_leaf
                    )
                    if current is not None:
                        result.current[(indicator.code, unit)] = current
            if spec.increment:
                _add(result.buckets.setdefault(key, Bucket()), event)
    return result


def current_spec(
    catalog: Catalog, hierarchy: Hierarchy, indicator: str, unit: str, today: date, version_from: date, is_leaf: bool
) -> ValueSpec | None:
    """The current value's spec, if an observation made in `version_from` can change it."""
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


def _add(bucket: Bucket, event: AcceptedEvent) -> None:
    bucket.numerator += event.numerator or 0
    bucket.denominator += event.denominator or 0
    bucket.events += 1
    if bucket.last_observed_at is None or event.observed_at > bucket.last_observed_at:
        bucket.last_observed_at = event.observed_at


def exact(value: float | None) -> Decimal | None:
    """The decimal a JSON number means (shortest repr), so sums of values are exact."""
    return None if value is None else Decimal(repr(value))
