"""Rules of an event that need the catalog, the hierarchy or the source's scope (docs/events-and-topics.md).

Every error is a string `reason: field: message`; the reason is the stable code counted in metrics.
The collector (HTTP and ingest topic) and the aggregator (poison messages) share these functions.
"""

from dataclasses import dataclass
from datetime import date

from shared.contracts.events import EventV1
from shared.domain.catalog import Catalog, Indicator, Measure
from shared.domain.hierarchy import Hierarchy
from shared.domain.periods import GRANULARITY_FORMAT, parse_period, period_of
from shared.domain.timeutil import local_date
from shared.domain.unitref import in_scope


@dataclass(frozen=True)
class Scope:
    """What a source may write: indicator codes and units (each covers everything under it), a unit named
    `CODE@YYYY-MM-DD` (shared/domain/unitref.py: the same unit at the event's date, not whatever holds the code).

    `None` means no restriction on that axis.
    """

    indicators: frozenset[str] | None = None
    units: frozenset[str] | None = None


def check_event(event: EventV1, catalog: Catalog, hierarchy: Hierarchy) -> list[str]:
    """Errors of a schema-valid event against the catalog and the hierarchy at its observation date: the
    collector's admission rules."""
    return _check(event, catalog, hierarchy, bounds=True)


def check_applicable(event: EventV1, catalog: Catalog, hierarchy: Hierarchy) -> list[str]:
    """What a reader of dx.events.v1 re-checks of an event the collector accepted: only what applying it needs
    (an indicator it knows, with the measure and period granularity sent, a unit in force at the indicator's level
    on the observation date). The bounds of a value (min, max, whole numbers, the size of a ranking) were judged
    by the collector against the catalog in force when it received the event; a later catalog edit does not
    undo that acceptance."""
    return _check(event, catalog, hierarchy, bounds=False)


def _check(event: EventV1, catalog: Catalog, hierarchy: Hierarchy, bounds: bool) -> list[str]:
    indicator = catalog.get(event.indicator)
    if indicator is None:
        return [f"unknown_indicator: indicator: {event.indicator!r} is not in the catalog"]
    if event.retracts is not None:  # no measures; the unit is the original's, perhaps no longer in force
        if hierarchy.known_anywhere(event.unit):
            return []
        return [f"unknown_unit: unit: unit {event.unit} does not exist in Thanh Hóa's hierarchy"]
    errors = _check_measure(event, indicator, bounds) + _check_period(event, indicator, bounds)
    day = local_date(event.observed_at)
    unit = hierarchy.resolve(event.unit, day)
    if unit is None:
        if hierarchy.known_anywhere(event.unit):
            errors.append(f"unit_not_in_force: unit: unit {event.unit} is not in force on {day.isoformat()}")
        else:
            errors.append(f"unknown_unit: unit: unit {event.unit} does not exist in Thanh Hóa's hierarchy")
    elif unit.level != indicator.reported_at:
        errors.append(
            f"wrong_level: unit: {indicator.code} is reported per {indicator.reported_at}; "
            f"{event.unit} ({unit.full_name}) is a {unit.level} on {day.isoformat()}"
        )
    return errors


def _check_measure(event: EventV1, indicator: Indicator, bounds: bool) -> list[str]:
    if indicator.measure is Measure.RATIO:
        if event.value is not None:
            return [f"wrong_measure: value: {indicator.code} is a ratio: send numerator and denominator"]
        return []
    if event.value is None:
        return [f"wrong_measure: numerator: {indicator.code} is a {indicator.measure.value}: send value"]
    if not bounds:
        return []
    value = event.value
    if indicator.min is not None and value < indicator.min:
        return [f"out_of_range: value: {value:g} is below the minimum {indicator.min:g} of {indicator.code}"]
    if indicator.max is not None and value > indicator.max:
        return [f"out_of_range: value: {value:g} is above the maximum {indicator.max:g} of {indicator.code}"]
    if indicator.integer and not value.is_integer():
        return [f"out_of_range: value: {indicator.code} takes whole numbers, got {value:g}"]
    return []


def effective_period(indicator: Indicator, period: str | None, day: date) -> str | None:
    """The period a valid event describes: its own, else (periodic indicators) the one containing its local day."""
    if indicator.period is None:
        return None
    return period or period_of(indicator.period, day)


def _check_period(event: EventV1, indicator: Indicator, bounds: bool) -> list[str]:
    day = local_date(event.observed_at)
    if event.period is not None:
        found = parse_period(event.period)
        if found is None:  # the schema refuses it already
            return []
        if indicator.period is None:
            return [f"invalid_period: period: {indicator.code} describes no reference period: omit period"]
        if found.granularity is not indicator.period:
            wanted = GRANULARITY_FORMAT[indicator.period]
            return [f"invalid_period: period: {indicator.code} is reported per {indicator.period.value} ({wanted}), "
                    f"got {event.period!r}"]  # fmt: skip
        if found.end > day:
            return [
                f"period_after_observation: period: {event.period} ends on {found.end.isoformat()}, after the "
                f"observation day {day.isoformat()} (a figure is observed once its period is over)"
            ]
    size = None
    if bounds and indicator.rank_scale and event.value is not None:
        size = indicator.scale_for(effective_period(indicator, event.period, day) or "")
    if size is not None and event.value is not None and event.value > size:
        label = effective_period(indicator, event.period, day)
        return [f"out_of_range: value: the {label} ranking of {indicator.code} ranks {size} units, got {event.value:g}"]
    return []


def check_scope(event: EventV1, scope: Scope, hierarchy: Hierarchy) -> str | None:
    """`forbidden: …` when the event lies outside the source's scope, else None."""
    if scope.indicators is not None and event.indicator not in scope.indicators:
        return f"forbidden: indicator: this source may not write {event.indicator}"
    if scope.units is not None:
        day: date = local_date(event.observed_at)
        if not in_scope(scope.units, event.unit, day, hierarchy):
            return f"forbidden: unit: this source may not write unit {event.unit}"
    return None
