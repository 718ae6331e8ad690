"""Targets across hierarchy versions (docs/lineage.md): a unit that no longer exists on a milestone's reference day
keeps a `not_applicable` row stating so with its last value; units in force are assessed as before."""

from datetime import UTC, date, datetime

from services.alerter.evaluator import Inputs, evaluate, gone_keys, keys_for
from shared.domain.catalog import Catalog
from shared.domain.forecast import ForecastConfig
from shared.domain.hierarchy import Hierarchy
from shared.domain.status import Status, evaluation_keys
from shared.domain.trajectory import History

LEVEL4 = "gov.level4_procedures_online"  # ratio, reported by communes
CFG = ForecastConfig(window_days=365, min_points=3)
NOW = datetime(2026, 11, 27, 5, tzinfo=UTC)


def test_district_ratio_targets_after_the_reform_are_not_applicable_rows(catalog: Catalog, hierarchy: Hierarchy):
    today = NOW.date()
    keys = gone_keys(catalog, hierarchy, today)
    assert (LEVEL4, "380", "2025") in keys and (LEVEL4, "381", "2030") in keys
    assert (LEVEL4, "380", "2025") not in evaluation_keys(catalog.indicators, hierarchy, today)  # in force only
    assert (LEVEL4, "14758", "2025") not in keys  # the code names Phường Hàm Rồng now: its own row
    assert keys_for(catalog, hierarchy, [(LEVEL4, "380")], today) == [(LEVEL4, "380", "2025"), (LEVEL4, "380", "2030")]
    inputs = Inputs(histories={(LEVEL4, "380"): History.of([(date(2025, 6, 10), 63.0)])})
    [row] = evaluate(catalog, hierarchy, [(LEVEL4, "380", "2025")], inputs, NOW, CFG)
    assert row.status is Status.NOT_APPLICABLE and row.value == 63.0
    assert "Thành phố Thanh Hóa (cấp huyện) không còn tồn tại từ 01/07/2025" in row.reason
    assert row.reason.endswith("giá trị cuối 63% (10/06/2025)")


def test_a_merged_away_commune_states_it_with_its_last_value_and_is_silent_without_data(catalog, hierarchy):
    keys = [(LEVEL4, "14755", "2025"), (LEVEL4, "14761", "2025")]  # both merged into Hàm Rồng on 2025-07-01
    assert set(keys) <= set(gone_keys(catalog, hierarchy, NOW.date()))
    inputs = Inputs(histories={(LEVEL4, "14755"): History.of([(date(2025, 5, 1), 60.0)])})
    rows = evaluate(catalog, hierarchy, keys, inputs, NOW, CFG)
    assert [(r.unit, r.status, r.value) for r in rows] == [("14755", Status.NOT_APPLICABLE, 60.0)]
    assert "Phường Hàm Rồng (cấp xã) không còn tồn tại từ 01/07/2025" in rows[0].reason


def test_before_the_reform_a_district_target_is_assessed_as_usual(catalog: Catalog, hierarchy: Hierarchy):
    today = date(2025, 6, 30)
    assert (LEVEL4, "380", "2025") in evaluation_keys(catalog.indicators, hierarchy, today)
    assert (LEVEL4, "380", "2025") not in gone_keys(catalog, hierarchy, today)
    inputs = Inputs(histories={(LEVEL4, "380"): History.of([(date(2025, 6, 10), 63.0)])})
    now = datetime(2025, 6, 30, 5, tzinfo=UTC)
    [row] = evaluate(catalog, hierarchy, [(LEVEL4, "380", "2025")], inputs, now, CFG)
    assert row.status is not Status.NOT_APPLICABLE


def test_a_reused_code_history_keeps_only_the_points_of_units_that_carried_to_it(hierarchy: Hierarchy) -> None:
    from dataclasses import replace

    from services.alerter.evaluator import own_history
    from shared.domain.hierarchy import Hierarchy as Tree

    history = History.of([(date(2024, 5, 1), 80.0), (date(2025, 8, 1), 40.0)])
    kept = own_history(history, LEVEL4, "14758", hierarchy, NOW.date())  # Đông Thọ carried to Hàm Rồng: kept
    assert kept.pairs() == history.pairs()
    # the same code had its earlier unit's history carried elsewhere: its points are another unit's
    july = hierarchy.versions[2]
    moved = dict(july.predecessors, **{"14758": ("14755",), "14797": (*july.predecessors["14797"], "14758")})
    other = Tree([*hierarchy.versions[:2], replace(july, predecessors=moved)])
    assert own_history(history, LEVEL4, "14758", other, NOW.date()).pairs() == [(date(2025, 8, 1), 40.0)]
