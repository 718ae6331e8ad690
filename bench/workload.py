"""The benchmark's events: commune-level traffic of Thanh Hóa today, pre-serialized, with the totals they imply.

The mix follows the national picture (one event per survey answer or inspection, plus periodic snapshots):
70 % increments (gov.satisfaction, gov.online_inspections: numerator 0/1 over 1), 30 % snapshots of the other
commune indicators. Live observation times fall in the last 15 minutes of the current local day; a share of the
events (`HISTORY_SHARE`) is history from before the 2025 reform (the communes in force on `HISTORY_DAYS`), so the
aggregator works with lineage in force: carried values, later units recomputed (docs/lineage.md).
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

    def province_totals(self, hierarchy: Hierarchy, today: date) -> Totals:
        """What current_values must hold at the province on `today`: ratio of sums of the increments in the 365-day
        window; for snapshots, each commune in force's latest, else what its predecessors carry (lineage)."""
        out: Totals = {}
        latest: dict[tuple[str, Node], Event] = {}
        first = today - timedelta(days=WINDOW_DAYS - 1)
        for e in self.events:
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
    hierarchy: Hierarchy, count: int, seed: int, now: datetime | None = None, history: float = HISTORY_SHARE
) -> Workload:
    """`count` events: live traffic of today, a `history` share of them observed before the reform."""
    now = now or datetime.now(UTC)
    rng = random.Random(seed + 1)
    past = [_history(hierarchy, seed + 7919 * (i + 1), day) for i, day in enumerate(HISTORY_DAYS)]  # own ids
    events = []
    for event in stream(hierarchy, seed, now, count):
        if rng.random() < history:
            event = next(past[rng.randrange(len(past))])
        events.append(event)
    return Workload(events)


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
