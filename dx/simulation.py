"""Events as Thanh Hóa's source systems would send them (pure): a compressed history and live rounds.

- snapshot indicators: one observation per unit every ~0.8 × the indicator's reporting interval;
- increment indicators: one event per survey answer (gov.satisfaction) or inspection (gov.online_inspections),
  numerator 1/0 over denominator 1;
- province-level yearly values (reporting interval ≥ 1 year): once per year, on 15 December;
- the hierarchy version in force at each simulated date decides which units exist and at which level.
Event ids are uuid5 over the seed and the event's identity, so replaying the same history sends the same ids.
"""

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from dx.profiles import Model
from shared.domain.catalog import Catalog, Indicator, Measure, Semantics
from shared.domain.hierarchy import Hierarchy
from shared.domain.timeutil import LOCAL_TZ, local_date

Event = dict[str, Any]
NAMESPACE = uuid.UUID("6c1f3a52-8a47-4d0e-9a53-2b9f0e7d3c11")
# Expected increment events per commune per day (survey answers, inspections).
INCREMENT_RATE = {"gov.satisfaction": 0.15, "gov.online_inspections": 0.035}
DEFAULT_INCREMENT_RATE = 0.05
YEARLY_DAYS = 365


def is_yearly(indicator: Indicator) -> bool:
    return indicator.reporting_interval_days >= YEARLY_DAYS


def cadence_days(indicator: Indicator) -> int:
    return max(1, int(indicator.reporting_interval_days * 0.8))


class Simulator:
    """Generates valid events for a seed; `history()` for a date range, `live_round()` for the present."""

    def __init__(self, catalog: Catalog, hierarchy: Hierarchy, seed: int = 0) -> None:
        self.catalog = catalog
        self.hierarchy = hierarchy
        self.seed = seed
        self.model = Model(hierarchy, seed)
        self.rng = random.Random(seed)
        self.rounds = 0
        self._phases: dict[tuple[str, str, int], int] = {}

    def _id(self, *parts: object) -> str:
        return str(uuid.uuid5(NAMESPACE, "|".join(str(p) for p in (self.seed, *parts))))

    def _observation(self, ind: Indicator, code: str, moment: datetime, *id_parts: object) -> Event:
        """A snapshot or yearly observation of `ind` for `code` at `moment`."""
        day = local_date(moment)
        event: Event = {
            "event_id": self._id(ind.code, code, *id_parts),
            "indicator": ind.code,
            "unit": code,
            "observed_at": moment.astimezone(LOCAL_TZ).isoformat(timespec="seconds"),
        }
        if ind.measure is Measure.RATIO:
            denominator = self.model.size(ind.code, code, day)
            share = self.model.level(ind.code, code, day) / 100 + self.rng.gauss(0, 0.01)
            event["numerator"] = min(denominator, max(0, round(share * denominator)))
            event["denominator"] = denominator
        elif ind.measure is Measure.COUNT:
            event["value"] = 1.0 if self.model.completed(ind.code, code, day) else 0.0
        else:
            event["value"] = self._value(ind, code, day)
        return event

    def _value(self, ind: Indicator, code: str, day: date) -> float:
        value = self.model.level(ind.code, code, day) + self.rng.gauss(0, 0.3)
        value = float(round(value)) if ind.integer or ind.measure is Measure.RANK else round(value, 2)
        lo = ind.min if ind.min is not None else value
        hi = ind.max if ind.max is not None else value
        return float(min(hi, max(lo, value)))

    def _increment(self, ind: Indicator, code: str, moment: datetime, *id_parts: object) -> Event:
        """One survey answer or inspection: numerator 1 (satisfied / online) or 0, denominator 1."""
        p = self.model.level(ind.code, code, local_date(moment)) / 100
        return {
            "event_id": self._id(ind.code, code, *id_parts),
            "indicator": ind.code,
            "unit": code,
            "observed_at": moment.astimezone(LOCAL_TZ).isoformat(timespec="seconds"),
            "numerator": 1 if self.rng.random() < p else 0,
            "denominator": 1,
        }

    def _units(self, ind: Indicator, day: date) -> list[str]:
        return sorted(u.code for u in self.hierarchy.units_in_force(day, ind.reported_at))

    def _moment(self, day: date, until: datetime) -> datetime:
        """A working-hours moment of `day` (local), never after `until`."""
        seconds = self.rng.randrange(7 * 3600, 17 * 3600)
        moment = datetime.combine(day, time(), LOCAL_TZ) + timedelta(seconds=seconds)
        return min(moment, until)

    def history(self, start: date, until: datetime) -> Iterator[Event]:
        """Every event from `start` to `until`, in the order of simulated days."""
        day, last = start, local_date(until)
        while day <= last:
            yield from self.day_events(day, until)
            day += timedelta(days=1)

    def day_events(self, day: date, until: datetime) -> Iterator[Event]:
        """The events of one simulated local day (none after `until`)."""
        offset = (day - date(2020, 1, 1)).days
        for ind in self.catalog.indicators:
            if is_yearly(ind):
                if (day.month, day.day) == (12, 15):
                    for code in self._units(ind, day):
                        yield self._observation(ind, code, self._moment(day, until), "year", day.year)
                continue
            if ind.semantics is Semantics.INCREMENT:
                rate = INCREMENT_RATE.get(ind.code, DEFAULT_INCREMENT_RATE)
                for code in self._units(ind, day):
                    if self.rng.random() < rate:
                        yield self._increment(ind, code, self._moment(day, until), "day", day)
                continue
            cadence = cadence_days(ind)
            for code in self._units(ind, day):
                if (offset + self._phase(ind.code, code, cadence)) % cadence == 0:
                    yield self._observation(ind, code, self._moment(day, until), "day", day)

    def _phase(self, indicator: str, code: str, cadence: int) -> int:
        key = (indicator, code, cadence)  # the same for every day: drawn once (years of history ask millions of times)
        if key not in self._phases:
            self._phases[key] = random.Random(f"{self.seed}|{indicator}|{code}|phase").randrange(cadence)
        return self._phases[key]

    def live_round(self, now: datetime) -> list[Event]:
        """One round of present-day traffic: a snapshot of every (indicator, unit), increments, yearly values."""
        self.rounds += 1
        day, tag = local_date(now), ("live", now.astimezone(UTC).isoformat(), self.rounds)
        events: list[Event] = []
        for ind in self.catalog.indicators:
            for code in self._units(ind, day):
                if is_yearly(ind):
                    if self.rounds == 1:  # once per year: the id is the year's, so a re-send is a duplicate
                        events.append(self._observation(ind, code, now, "year", day.year))
                elif ind.semantics is Semantics.INCREMENT:
                    for k in range(self.rng.choice((0, 1, 1, 2))):
                        events.append(self._increment(ind, code, now, *tag, k))
                else:
                    events.append(self._observation(ind, code, now, *tag))
        self.rng.shuffle(events)
        return events
