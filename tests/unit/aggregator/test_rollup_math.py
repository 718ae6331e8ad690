"""Pure rollup semantics: value specs across hierarchy versions, ratio of sums, coverage, planning a batch."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

from services.aggregator.decode import decode, fact_of
from services.aggregator.fold import plan
from shared.contracts.events import EARLIEST_OBSERVATION, AcceptedEvent
from shared.domain.rollup import FOREVER, Sums, as_of_day, chain, compose, percent, tree_rows, value_spec

TODAY = date(2026, 11, 27)
LEVEL4 = "gov.level4_procedures_online"


def event(unit: str, day: date, indicator: str = LEVEL4, num: int = 1, den: int = 2) -> AcceptedEvent:
    at = datetime(day.year, day.month, day.day, 3, tzinfo=UTC)
    return AcceptedEvent(event_id=uuid4(), indicator=indicator, unit=unit, observed_at=at, numerator=num,
                         denominator=den, source="t", received_at=at)  # fmt: skip


def test_ratio_of_sums_is_not_the_average_of_percentages():
    assert percent(Decimal(1 + 90), Decimal(10 + 100)) == Decimal(9100) / Decimal(110)
    assert percent(Decimal(91), Decimal(110)) != (Decimal(10) + Decimal(90)) / 2
    assert percent(Decimal(0), Decimal(0)) is None


def test_a_dong_son_commune_rolls_up_to_405_in_2024_and_to_380_in_2025(hierarchy):
    assert chain(hierarchy, "16381", date(2024, 6, 1)) == ("16381", "405", "38")
    assert chain(hierarchy, "16381", date(2025, 2, 1)) == ("16381", "380", "38")


def test_after_the_reform_communes_roll_straight_to_the_province(hierarchy):
    assert chain(hierarchy, "14758", date(2025, 8, 1)) == ("14758", "38")


def test_a_vanished_unit_is_valued_as_of_its_last_valid_day(hierarchy):
    assert as_of_day(hierarchy, "405", TODAY) == date(2024, 12, 31)
    assert as_of_day(hierarchy, "380", TODAY) == date(2025, 6, 30)
    assert as_of_day(hierarchy, "38", TODAY) == TODAY


def test_a_rollup_is_not_bounded_by_its_version_and_counts_the_units_at_the_reporting_level(catalog, hierarchy):
    spec = value_spec(hierarchy, catalog[LEVEL4], "38", TODAY)
    assert spec is not None and not spec.is_leaf
    assert spec.version_from == date(2025, 7, 1)
    assert spec.lo_ts == EARLIEST_OBSERVATION  # the lineage bounds each predecessor's part, not the version
    assert spec.children_in_force == 166
    before = value_spec(hierarchy, catalog[LEVEL4], "38", date(2024, 6, 1))
    assert before is not None and before.children_in_force == 558  # communes, not the 27 districts
    leaf = value_spec(hierarchy, catalog[LEVEL4], "14758", TODAY)
    assert leaf is not None and leaf.is_leaf and leaf.children_in_force is None
    assert leaf.lo_ts == EARLIEST_OBSERVATION


def test_coverage_of_27_reporting_communes_before_the_reform_is_27_of_558(catalog, hierarchy):
    spec = value_spec(hierarchy, catalog[LEVEL4], "38", date(2024, 6, 1))
    assert spec is not None
    out = compose(catalog[LEVEL4], spec, Sums(Decimal(27), Decimal(27), None, 27, None, own_children=27))
    assert (out.reporting_children, out.children_in_force, out.coverage) == (27, 558, 27 / 558)
    assert out.reporting_carried == 0


def test_increment_window_is_the_trailing_365_days_across_versions(catalog, hierarchy):
    spec = value_spec(hierarchy, catalog["gov.satisfaction"], "14758", TODAY)
    assert spec is not None and spec.increment
    assert (spec.lo_day, spec.hi_day) == (TODAY - timedelta(days=364), TODAY)
    rollup = value_spec(hierarchy, catalog["gov.satisfaction"], "38", date(2025, 12, 31))
    assert rollup is not None and (rollup.lo_day, rollup.hi_day) == (date(2025, 1, 1), date(2025, 12, 31))


def test_carried_values_are_marked(catalog, hierarchy):
    leaf = value_spec(hierarchy, catalog[LEVEL4], "14758", TODAY)
    assert leaf is not None
    carried = compose(catalog[LEVEL4], leaf, Sums(Decimal(3), Decimal(4), None, 2, None, carried_sources=2))
    assert (carried.carried_from, carried.reporting_carried, carried.reporting_children) == (2, None, None)
    rollup = value_spec(hierarchy, catalog[LEVEL4], "38", TODAY)
    assert rollup is not None
    out = compose(catalog[LEVEL4], rollup, Sums(Decimal(3), Decimal(4), None, 5, None, own_children=2))
    assert (out.reporting_children, out.reporting_carried, out.carried_from) == (5, 3, None)


def test_value_and_rank_measures_do_not_roll_up(catalog, hierarchy):
    assert value_spec(hierarchy, catalog["overall.dti_rank"], "38", TODAY) is not None
    assert value_spec(hierarchy, catalog["soc.districts_dx_completed"], "38", date(2024, 5, 1)) is not None
    assert value_spec(hierarchy, catalog[LEVEL4], "99999", TODAY) is None


def test_coverage_is_reporting_children_over_children_in_force(catalog, hierarchy):
    spec = value_spec(hierarchy, catalog[LEVEL4], "381", date(2025, 3, 1))
    assert spec is not None
    out = compose(catalog[LEVEL4], spec, Sums(Decimal(3), Decimal(4), None, 2, None))
    assert out.value == Decimal(75)
    assert out.reporting_children == 2 and out.coverage == 2 / spec.children_in_force  # type: ignore[operator]


def test_count_rollup_sums_the_flags(catalog, hierarchy):
    indicator = catalog["soc.communes_dx_completed"]
    spec = value_spec(hierarchy, indicator, "38", TODAY)
    assert spec is not None
    out = compose(indicator, spec, Sums(None, None, Decimal(3), 3, None))
    assert out.value == Decimal(3) and out.numerator is None


def test_tree_has_the_direct_child_on_each_path(hierarchy):
    rows = {(v, a, u): c for v, a, u, c in tree_rows(hierarchy)}
    assert rows[(date(2020, 1, 1), "38", "16381")] == "405"
    assert rows[(date(2020, 1, 1), "405", "16381")] == "16381"
    assert rows[(date(2025, 7, 1), "38", "14758")] == "14758"


def test_plan_touches_the_chain_at_the_observation_date_and_the_units_that_carry_it(catalog, hierarchy):
    todo = plan([fact_of(event("16381", date(2024, 6, 1)), catalog)], catalog, hierarchy, TODAY)
    on_the_day = {(LEVEL4, u, date(2024, 6, 1)) for u in ("16381", "405", "38")}
    # each heir's first day (and its chain's) gets a row, so a history read by code starts with the carried value
    first_days = {(LEVEL4, u, date(2025, 1, 1)) for u in ("16381", "380", "38")}
    first_days |= {(LEVEL4, u, date(2025, 7, 1)) for u in ("16378", "38")}
    assert set(todo.daily) == on_the_day | first_days
    # 16381 (Đông Sơn) → 16381 under 380 on 2025-01-01 → 16378 under the province on 2025-07-01
    assert [n[0] for n in hierarchy.heirs_after(("16381", date(2020, 1, 1)))] == ["16381", "16378"]
    assert set(todo.current) == {(LEVEL4, u) for u in ("16381", "405", "380", "16378", "38")}
    assert todo.current[(LEVEL4, "405")].day == date(2024, 12, 31)
    assert todo.current[(LEVEL4, "380")].day == date(2025, 6, 30)
    assert on_the_day <= set(todo.late)
    assert todo.late[(LEVEL4, "16378", date(2025, 6, 30))] == FOREVER  # its rows from 2025-07-01 on


def test_plan_adds_increments_into_buckets_at_every_level(catalog, hierarchy):
    day = date(2026, 11, 1)
    events = [fact_of(event("14758", day, "gov.satisfaction", n, 1), catalog) for n in (1, 0)]
    todo = plan(events, catalog, hierarchy, TODAY)
    for unit in ("14758", "38"):
        bucket = todo.buckets[("gov.satisfaction", unit, day)]
        assert (bucket.numerator, bucket.denominator, bucket.events) == (1, 2, 2)


def test_decode_names_the_reason_of_poison(catalog, hierarchy):
    assert decode(b"{not json", catalog, hierarchy)[0].startswith("undecodable: ")  # type: ignore[index]
    assert decode(None, catalog, hierarchy)[0].startswith("undecodable: ")  # type: ignore[index]
    good = event("14758", date(2026, 11, 1)).model_dump_json().encode()
    assert isinstance(decode(good, catalog, hierarchy), AcceptedEvent)
    wrong_level = event("380", date(2025, 3, 1)).model_dump_json().encode()
    assert decode(wrong_level, catalog, hierarchy)[0].startswith("wrong_level: ")  # type: ignore[index]
