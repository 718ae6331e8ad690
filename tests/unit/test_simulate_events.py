"""The simulator's output passes the collector's validation at every simulated date, and is deterministic."""

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from dx.profiles import Model, is_west
from dx.simulation import Simulator
from shared.contracts.events import EventV1
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.domain.timeutil import LOCAL_TZ
from shared.domain.validation import check_event


def _errors(raw: dict[str, Any], catalog: Catalog, hierarchy: Hierarchy, now: datetime) -> list[str]:
    event = EventV1.model_validate(raw, context={"now": now})
    return check_event(event, catalog, hierarchy)


def _days(start: date, count: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(count)]


# Windows around each version of the hierarchy and its changes, plus yearly-value days.
WINDOWS = [
    *_days(date(2021, 1, 1), 40),
    *_days(date(2023, 12, 10), 10),
    *_days(date(2024, 12, 20), 20),  # Đông Sơn merges into Thanh Hóa city on 2025-01-01
    *_days(date(2025, 6, 20), 20),  # the district level ends on 2025-07-01
]


def test_a_compressed_history_passes_validation_at_every_simulated_date(catalog: Catalog, hierarchy: Hierarchy) -> None:
    sim = Simulator(catalog, hierarchy, seed=7)
    seen: Counter[str] = Counter()
    problems = []
    for day in WINDOWS:
        until = datetime.combine(day, time(23, 59), LOCAL_TZ)
        for raw in sim.day_events(day, until):
            seen[raw["indicator"]] += 1
            errors = _errors(raw, catalog, hierarchy, now=until)
            if errors:
                problems.append((raw, errors))
    assert problems[:3] == []
    assert sum(seen.values()) > 10_000
    assert set(seen) == set(catalog.codes())  # every indicator appears in the sample


def test_live_rounds_pass_validation_today(catalog: Catalog, hierarchy: Hierarchy) -> None:
    sim = Simulator(catalog, hierarchy, seed=1)
    now = datetime.now(UTC)
    events = sim.live_round(now) + sim.live_round(now + timedelta(seconds=1))
    assert [e for e in events if _errors(e, catalog, hierarchy, now=now + timedelta(seconds=1))] == []
    communes = {u.code for u in hierarchy.units_in_force(now.astimezone(LOCAL_TZ).date(), "commune")}
    snapshot_units = {e["unit"] for e in events if e["indicator"] == "gov.eid_users"}
    assert snapshot_units == communes  # every commune in force reports
    yearly = [e for e in events if e["indicator"] == "overall.dti_rank"]
    assert len(yearly) == 1  # yearly values only in the first round
    assert len({e["event_id"] for e in events}) == len(events)


def test_the_same_seed_gives_the_same_events_and_another_seed_does_not(catalog: Catalog, hierarchy: Hierarchy) -> None:
    until = datetime(2022, 3, 1, tzinfo=UTC)

    def run(seed: int) -> list[dict[str, Any]]:
        return list(Simulator(catalog, hierarchy, seed).history(date(2022, 1, 1), until))

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_history_stops_at_the_present(catalog: Catalog, hierarchy: Hierarchy) -> None:
    until = datetime.now(UTC)
    start = until.astimezone(LOCAL_TZ).date() - timedelta(days=3)
    events = list(Simulator(catalog, hierarchy, 2).history(start, until))
    assert events
    assert max(datetime.fromisoformat(e["observed_at"]) for e in events) <= until


def test_units_follow_the_hierarchy_in_force(catalog: Catalog, hierarchy: Hierarchy) -> None:
    sim = Simulator(catalog, hierarchy, seed=5)
    before = list(sim.history(date(2024, 6, 1), datetime(2024, 12, 31, 12, tzinfo=LOCAL_TZ)))
    after = list(sim.history(date(2025, 7, 1), datetime(2025, 12, 31, 12, tzinfo=LOCAL_TZ)))
    districts = [e for e in before if e["indicator"] == "soc.districts_dx_completed"]
    assert {e["unit"] for e in districts} <= {u.code for u in hierarchy.units_in_force(date(2024, 6, 1), "district")}
    assert districts
    assert not [e for e in after if e["indicator"] == "soc.districts_dx_completed"]
    assert len({e["unit"] for e in after if e["indicator"] == "gov.eid_users"}) == 166


@pytest.mark.parametrize("day", [date(2024, 6, 1), date(2026, 6, 1)])
def test_the_mountainous_west_lags_the_rest_of_the_province(hierarchy: Hierarchy, day: date) -> None:
    model = Model(hierarchy, seed=11)
    communes = hierarchy.units_in_force(day, "commune")
    west = [u.code for u in communes if is_west(hierarchy, u.code, day)]
    rest = [u.code for u in communes if not is_west(hierarchy, u.code, day)]
    assert 20 <= len(west) < len(rest)

    def mean(codes: list[str]) -> float:
        return sum(model.level("gov.eid_users", c, day) for c in codes) / len(codes)

    assert mean(west) < mean(rest) - 10
