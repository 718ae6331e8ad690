"""Planning is exact however a backlog is cut into batches: the plans of consecutive batches merged (fold.py
`merge_plan`, what a transaction of several batches folds) equal the plan of all their events at once, and the
Planner's memo of series-days gives the plan worked out from scratch. The events are the benchmark's workload: live
traffic of today plus history from both versions before the 2025 reform (lineage heirs, late days)."""

from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

from bench.workload import generate
from services.aggregator.decode import Decoder, Fact
from services.aggregator.fold import Plan, Planner, SeriesSum, merge_plan, plan_series, sums_by_series
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.domain.timeutil import local_date


def facts(catalog: Catalog, hierarchy: Hierarchy, count: int, seed: int) -> list[Fact]:
    decoder = Decoder(catalog, hierarchy)
    out = []
    for _, value in generate(hierarchy, count, seed, history=0.3).messages():
        fact = decoder(value)
        assert isinstance(fact, Fact), fact
        out.append(fact)
    return out


def snapshot(s: SeriesSum) -> tuple[Any, ...]:
    return (s.observed_at, s.event_id, s.latest_numerator, s.latest_denominator, s.latest_value)


def comparable(plan: Plan) -> dict[str, Any]:
    return {
        "buckets": {k: asdict(b) for k, b in plan.buckets.items()},
        "snapshots": {k: snapshot(s) for k, s in plan.snapshots.items()},
        "daily": plan.daily,
        "current": plan.current,
        "late": plan.late,
    }


def test_merged_plans_of_consecutive_batches_equal_the_plan_of_all_their_events(catalog, hierarchy):
    events, today = facts(catalog, hierarchy, 6000, 3), local_date(datetime.now(UTC))
    whole = plan_series(sums_by_series(events), catalog, hierarchy, today)
    merged = Plan()
    for start in range(0, len(events), 1300):  # uneven batches, so a series-day spans several of them
        merge_plan(merged, plan_series(sums_by_series(events[start : start + 1300]), catalog, hierarchy, today))
    assert len(whole.late) > 100 and len(whole.buckets) > 100 and len(whole.snapshots) > 100
    assert comparable(merged) == comparable(whole)


def test_merge_keeps_the_latest_snapshot_of_a_day_and_sums_the_buckets(catalog, hierarchy):
    events, today = facts(catalog, hierarchy, 3000, 4), local_date(datetime.now(UTC))
    later_first = plan_series(sums_by_series(events[1500:]), catalog, hierarchy, today)
    merge_plan(later_first, plan_series(sums_by_series(events[:1500]), catalog, hierarchy, today))
    whole = plan_series(sums_by_series(events), catalog, hierarchy, today)
    assert comparable(later_first) == comparable(whole)  # order of the batches does not matter to the result


def test_planner_memo_gives_the_plan_from_scratch_on_every_batch_and_day(catalog, hierarchy):
    events = facts(catalog, hierarchy, 4000, 5)
    planner = Planner(catalog, hierarchy)
    for today in (local_date(datetime.now(UTC)), date(2025, 7, 1), local_date(datetime.now(UTC))):
        for start in range(0, len(events), 1000):
            series = sums_by_series(events[start : start + 1000])
            assert comparable(planner(series, today)) == comparable(plan_series(series, catalog, hierarchy, today))
    assert planner.memo  # the memo was used
    assert planner.currents.specs and planner.currents.day == local_date(datetime.now(UTC))  # and the day's


def test_planner_memo_keeps_only_todays_series_days_and_is_bounded(catalog, hierarchy):
    events, today = facts(catalog, hierarchy, 2000, 6), local_date(datetime.now(UTC))
    series = sums_by_series(events)
    todays = [k for k in series if k[2] == today]
    assert 50 < len(todays) < len(series)  # live traffic and history
    planner = Planner(catalog, hierarchy)
    first = comparable(planner(series, today))
    assert sorted(k for k, _ in planner.memo) == sorted(todays)
    small = Planner(catalog, hierarchy, size=50)
    assert comparable(small(series, today)) == first
    assert comparable(small(series, today)) == first  # cleared past its size, then filled again: the same plan
    assert len(small.memo) == len(todays)
