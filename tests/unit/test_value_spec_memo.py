"""rollup.value_spec is memoised on the hierarchy: every answer equals the one worked out from scratch, an
indicator changed under the same code (another catalog) is not answered from the memo, and the memo stays bounded."""

from datetime import date, timedelta

from shared.domain import rollup
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.domain.rollup import _value_spec, value_spec

DAYS = [date(2024, 12, 31), date(2025, 1, 1), date(2025, 6, 30), date(2025, 7, 1), date(2026, 3, 1)]


def test_memoised_specs_equal_the_specs_from_scratch(catalog: Catalog, hierarchy: Hierarchy) -> None:
    codes = sorted({u.code for v in hierarchy.versions for u in v.units.values()})
    asked = 0
    for indicator in catalog.indicators:
        for day in DAYS:
            for unit in codes[::7]:
                for _ in range(2):  # the second answer comes from the memo
                    assert value_spec(hierarchy, indicator, unit, day) == _value_spec(hierarchy, indicator, unit, day)
                    asked += 1
    assert asked > 1000 and hierarchy.value_specs


def test_an_indicator_changed_under_the_same_code_is_not_answered_from_the_memo(catalog, hierarchy):
    share = catalog["gov.eid_users"]
    district = next(u.code for u in hierarchy.units_in_force(date(2025, 3, 1)) if u.level == "district")
    as_reported = value_spec(hierarchy, share, district, date(2025, 3, 1))
    assert as_reported is not None and not as_reported.is_leaf
    changed = share.model_copy(update={"reported_at": "district"})
    respec = value_spec(hierarchy, changed, district, date(2025, 3, 1))
    assert respec is not None and respec.is_leaf


def test_the_memo_is_bounded(catalog, hierarchy, monkeypatch):
    monkeypatch.setattr(rollup, "SPEC_MEMO_SIZE", 100)
    share = catalog["gov.eid_users"]
    for n in range(400):
        value_spec(hierarchy, share, "14758", date(2025, 7, 1) + timedelta(days=n))
    assert len(hierarchy.value_specs) <= 101
