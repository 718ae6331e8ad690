"""The benchmark's events: commune-level traffic of Thanh Hóa today, pre-serialized, with the totals they imply.

The mix follows the national picture (one event per survey answer or inspection, plus periodic snapshots):
70 % increments (gov.satisfaction, gov.online_inspections: numerator 0/1 over 1), 30 % snapshots of the other
commune indicators. Live observation times fall in the last 15 minutes of the current local day; a share of the
events (`HISTORY_SHARE`) is history from before the 2025 reform (the communes in force on `HISTORY_DAYS`), so the
aggregator works with lineage in force: carried values, later units recomputed (docs/lineage.md). A share of the
events (`AMENDMENT_SHARE`, half corrections, half retractions) amends an earlier event of the stream, so the
aggregator judges and undoes as it would for a source putting its figures right (docs/events-and-topics.md,
"Corrections and retractions").
"""

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import orjson

from shared import names
from shared.contracts.keys import pair_key
from shared.domain.hierarchy import Hierarchy
from shared.domain.lineage import Node
from shared.domain.rollup import WINDOW_DAYS, snapshot_parts
from shared.domain.timeutil import LOCAL_TZ, local_date

INCREMENTS = (("gov.satisfaction", 0.55), ("gov.online_inspections", 0.15))
RATIO_SNAPSHOTS = ("gov.eid_users", "gov.level4_procedures_online", "econ.enterprises_dx", "soc.epayment_accounts")
COUNT_SNAPSHOT = "soc.communes_dx_completed"
SOURCE = "bench"
HISTORY_SHARE = 0.1
HISTORY_DAYS = (date(2024, 12, 15), date(2025, 6, 15))  # one day in each version before the reform
AMENDMENT_SHARE = 0.002  # one event in 500 corrects or retracts an earlier one

Event = dict[str, Any]
Totals = dict[str, tuple[int | None, int | None, Decimal | None]]  # indicator → province (num, den, value)


@dataclass
class Workload:
    events: list[Event] = field(default_factory=list)

    def messages(self, received_at: datetime | None = None) -> list[tuple[bytes, bytes]]:
        """dx.events.v1 messages (key, value) as the collector would publish them."""
        stamp = rfc3339(received_at or datetime.now(UTC))
        return [
            (pair_key(e["indicator"], e["unit"]), orjson.dumps({**e, "source": SOURCE, "received_at": stamp}))
            for e in self.events
        ]

    def bodies(self, size: int) -> list[bytes]:
        """HTTP request bodies of `size` events each."""
        return [orjson.dumps(self.events[i : i + size]) for i in range(0, len(self.events), size)]

    def sums(self) -> tuple[int, int, int]:
        """(events, Σ numerator, Σ denominator) of what was sent."""
        return (
            len(self.events),
            sum(e.get("numerator", 0) for e in self.events),
            sum(e.get("denominator", 0) for e in self.events),
        )

    def in_force(self) -> list[Event]:
        """The events that count once every amendment is applied: a correction in its original's place, neither a
        retraction nor what it retracts."""
        kept: dict[str, Event] = {}
        for e in self.events:
            amends = e.get("corrects") or e.get("retracts")
            if amends is not None:
                del kept[amends]  # the stream amends only events still in force (generate)
            if "retracts" not in e:
                kept[e["event_id"]] = e
        return list(kept.values())

    def amendments(self) -> int:
        return sum(1 for e in self.events if "corrects" in e or "retracts" in e)

    def province_totals(self, hierarchy: Hierarchy, today: date) -> Totals:
        """What current_values must hold at the province on `today`, every amendment applied: ratio of sums of the
        increments in the 365-day window; for snapshots, each commune in force's latest, else what its predecessors
        carry (lineage)."""
        out: Totals = {}
        latest: dict[tuple[str, Node], Event] = {}
        first = today - timedelta(days=WINDOW_DAYS - 1)
        for e in self.in_force():
            day = local_date(datetime.fromisoformat(e["observed_at"]))
            if e["indicator"] in dict(INCREMENTS):
                if first <= day <= today:
                    num, den, _ = out.get(e["indicator"], (0, 0, None))
                    out[e["indicator"]] = ((num or 0) + e["numerator"], (den or 0) + e["denominator"], None)
            else:
                node = hierarchy.node_at(e["unit"], day)
                assert node is not None
                k = (e["indicator"], node)
                if k not in latest or _order(e) > _order(latest[k]):
                    latest[k] = e
        parts = []
        for indicator in sorted({k[0] for k in latest}):
            observed = {n for i, n in latest if i == indicator}
            for unit in hierarchy.units_in_force(today, "commune"):
                nodes = snapshot_parts(hierarchy, (unit.code, unit.valid_from), observed.__contains__)
                parts += [(indicator, latest[(indicator, n)]) for n in nodes]
        for indicator, e in sorted(parts, key=lambda p: p[0]):
            num, den, val = out.get(indicator, (None, None, None))
            if "value" in e:
                out[indicator] = (None, None, (val or Decimal(0)) + Decimal(repr(e["value"])))
            else:
                out[indicator] = ((num or 0) + e["numerator"], (den or 0) + e["denominator"], None)
        return out


def generate(
    hierarchy: Hierarchy,
    count: int,
    seed: int,
    now: datetime | None = None,
    history: float = HISTORY_SHARE,
    amendments: float = AMENDMENT_SHARE,
) -> Workload:
    """`count` events: live traffic of today, a `history` share of them observed before the reform, an `amendments`
    share correcting or retracting an earlier event still in force."""
    now = now or datetime.now(UTC)
    rng = random.Random(seed + 1)
    past = [_history(hierarchy, seed + 7919 * (i + 1), day) for i, day in enumerate(HISTORY_DAYS)]  # own ids
    events: list[Event] = []
    amendable: list[int] = []  # positions of events in force that no amendment touched yet
    for event in stream(hierarchy, seed, now, count):
        if amendable and rng.random() < amendments:
            original = events[amendable.pop(rng.randrange(len(amendable)))]
            event = _amendment(rng, original, correct=rng.random() < 0.5)
        elif rng.random() < history:
            event = next(past[rng.randrange(len(past))])
        if "retracts" not in event:
            amendable.append(len(events))
        events.append(event)
    return Workload(events)


def _amendment(rng: random.Random, original: Event, correct: bool) -> Event:
    """A correction of `original` (its indicator, unit and observed_at, other measures) or its retraction; the
    original's key, so the amendment follows it on the same partition."""
    event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    head = {"event_id": event_id, "indicator": original["indicator"], "unit": original["unit"],
            "observed_at": original["observed_at"]}  # fmt: skip
    if not correct:
        return {**head, "retracts": original["event_id"]}
    if "value" in original:
        measures: Event = {"value": 1.0 - original["value"]}
    elif original["denominator"] == 1:  # an answer or an inspection, put the other way
        measures = {"numerator": 1 - original["numerator"], "denominator": 1}
    else:
        denominator = rng.randint(100, 5000)
        measures = {"numerator": rng.randint(0, denominator), "denominator": denominator}
    return {**head, **measures, "corrects": original["event_id"]}


def _history(hierarchy: Hierarchy, seed: int, day: date) -> Iterator[Event]:
    """Events of the communes in force on `day`, observed during that local day."""
    noon = datetime.combine(day, time(12, 0), LOCAL_TZ)
    return stream(hierarchy, seed, noon, None, units_day=day, spread_s=11 * 3600)


def stream(
    hierarchy: Hierarchy,
    seed: int,
    now: datetime,
    count: int | None = None,
    units_day: date | None = None,
    spread_s: float = 900,
) -> Iterator[Event]:
    """`count` events (endless if None) of the communes in force on `units_day` (default: today), observed in the
    `spread_s` seconds before `now` (the last 15 minutes), never before local midnight."""
    rng = random.Random(seed)
    today = local_date(now)
    communes = sorted(u.code for u in hierarchy.units_in_force(units_day or today, "commune"))
    midnight = datetime.combine(today, time(0, 0, 1), LOCAL_TZ)
    produced = 0
    while count is None or produced < count:
        produced += 1
        unit = rng.choice(communes)
        moment = max(midnight, now - timedelta(seconds=rng.uniform(0, spread_s)))
        event: Event = {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "indicator": "",
            "unit": unit,
            "observed_at": moment.astimezone(LOCAL_TZ).isoformat(timespec="milliseconds"),
        }
        pick = rng.random()
        if pick < INCREMENTS[0][1]:
            event.update(indicator=INCREMENTS[0][0], numerator=int(rng.random() < 0.9), denominator=1)
        elif pick < INCREMENTS[0][1] + INCREMENTS[1][1]:
            event.update(indicator=INCREMENTS[1][0], numerator=int(rng.random() < 0.6), denominator=1)
        elif pick < 0.95:
            denominator = rng.randint(100, 5000)
            event.update(indicator=rng.choice(RATIO_SNAPSHOTS), numerator=rng.randint(0, denominator))
            event["denominator"] = denominator
        else:
            event.update(indicator=COUNT_SNAPSHOT, value=float(rng.random() < 0.4))
        yield event


def _order(e: Event) -> tuple[datetime, str]:
    return datetime.fromisoformat(e["observed_at"]), e["event_id"]


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


PROVINCE = names.PROVINCE_CODE
