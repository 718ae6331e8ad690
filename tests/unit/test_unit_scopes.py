"""A scope names units, not bare codes: 14758 is Phường Đông Thọ until 2025-07-01 and Phường Hàm Rồng since."""

from datetime import date, timedelta

import pytest

from shared.contracts.events import EventV1, reason_code
from shared.domain.hierarchy import Hierarchy
from shared.domain.unitref import UnitRefError, canonical, in_scope, parse_ref, same_unit_at, stored_node
from shared.domain.validation import Scope, check_scope

NOW = date(2026, 12, 2)


def event(unit: str, day: str) -> EventV1:
    raw = {"event_id": "0b0c8a4e-7a46-4b8e-9a5a-3f0a3f8f2a11", "indicator": "gov.eid_users", "unit": unit,
           "observed_at": f"{day}T10:00:00+07:00", "numerator": 1, "denominator": 2}  # fmt: skip
    return EventV1.model_validate(raw)


def verdict(units: set[str], unit: str, day: str, hierarchy: Hierarchy) -> str:
    found = check_scope(event(unit, day), Scope(units=frozenset(units)), hierarchy)
    return "ok" if found is None else reason_code(found)


def test_a_scope_of_todays_ham_rong_does_not_cover_dong_tho_which_had_the_code_before(hierarchy: Hierarchy) -> None:
    ham_rong = canonical(parse_ref("14758", hierarchy, NOW))
    assert ham_rong == "14758@2025-07-01"
    assert verdict({ham_rong}, "14758", "2025-08-01", hierarchy) == "ok"
    assert verdict({ham_rong}, "14758", "2024-06-01", hierarchy) == "forbidden"  # Phường Đông Thọ
    assert verdict({ham_rong}, "14758", "2025-03-01", hierarchy) == "forbidden"  # still Đông Thọ
    # a bare code stored before scopes named units is the latest unit with that code, the same as today's here
    assert verdict({"14758"}, "14758", "2024-06-01", hierarchy) == "forbidden"


def test_the_older_unit_with_the_same_code_is_named_with_a_date_and_covers_only_itself(hierarchy: Hierarchy) -> None:
    dong_tho = canonical(parse_ref("14758@2024-06-01", hierarchy, NOW))
    assert dong_tho == "14758@2020-01-01"
    assert verdict({dong_tho}, "14758", "2024-06-01", hierarchy) == "ok"
    assert verdict({dong_tho}, "14758", "2025-03-01", hierarchy) == "ok"  # the same Đông Thọ, next version
    assert verdict({dong_tho}, "14758", "2025-08-01", hierarchy) == "forbidden"  # Hàm Rồng


def test_a_unit_that_continues_under_its_name_keeps_its_history_and_its_children_at_each_date(
    hierarchy: Hierarchy,
) -> None:
    city = canonical(parse_ref("380@2025-03-01", hierarchy, NOW))  # Thành phố Thanh Hóa after Đông Sơn joined it
    assert verdict({city}, "14758", "2024-06-01", hierarchy) == "ok"  # its commune before the merger
    assert verdict({city}, "16378", "2025-03-01", hierarchy) == "ok"  # Đông Sơn's commune after the merger
    assert verdict({city}, "16378", "2024-06-01", hierarchy) == "forbidden"  # then under Đông Sơn (405)
    assert verdict({city}, "14758", "2025-08-01", hierarchy) == "forbidden"  # the district is gone
    province = canonical(parse_ref("38", hierarchy, NOW))
    assert all(
        verdict({province}, u, d, hierarchy) == "ok" for u, d in [("14758", "2024-06-01"), ("14758", "2025-08-01")]
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("380", "unit 380 is not in force on 2026-12-02: name one of 380@2020-01-01 (Thành phố Thanh Hóa); "
                "380@2025-01-01 (Thành phố Thanh Hóa)"),
        ("77777", "unknown unit 77777"),
        ("14758@2025-02-30", "bad unit '14758@2025-02-30': 2025-02-30 is not a date"),
        ("14758@", "bad unit '14758@': expected CODE or CODE@YYYY-MM-DD"),
        ("14758@2019-01-01", "unit 14758 is not in force on 2019-01-01"),
    ],
)  # fmt: skip
def test_a_unit_that_names_nothing_is_refused_with_how_to_name_one(
    text: str, message: str, hierarchy: Hierarchy
) -> None:
    with pytest.raises(UnitRefError) as err:
        parse_ref(text, hierarchy, NOW)
    assert str(err.value).startswith(message)


def test_a_stored_entry_that_names_no_unit_allows_nothing(hierarchy: Hierarchy) -> None:
    assert verdict({"14758@2019-01-01", "garbage"}, "14758", "2024-06-01", hierarchy) == "forbidden"


def _covers_by_entry(entry: str, code: str, day: date, hierarchy: Hierarchy) -> bool:
    """The rule stated per scope entry, as check_scope applied it to every entry of every event before the scope
    was resolved once per version (shared/domain/unitref.py scope_codes)."""
    node = stored_node(entry, hierarchy)
    at = same_unit_at(node, day, hierarchy) if node is not None else None
    return at is not None and hierarchy.resolve(code, day) is not None and hierarchy.is_within(code, at[0], day)


def test_a_scope_resolved_once_per_version_allows_exactly_what_each_entry_allows(hierarchy: Hierarchy) -> None:
    days = sorted({d for v in hierarchy.versions for d in (v.valid_from, v.valid_from - timedelta(days=1))})
    codes = sorted({c for v in hierarchy.versions for c in v.units})
    scopes = [
        frozenset({"14758@2025-07-01"}),  # Phường Hàm Rồng, whose code was Phường Đông Thọ's
        frozenset({"14758@2020-01-01", "380"}),  # Đông Thọ as it was, and a district
        frozenset(codes[::7]),  # bare codes of every level, as stored before scopes named units
        frozenset({"38", "nonsense", "99999"}),  # the province, and entries that name nothing
    ]
    allowed = forbidden = 0
    for entries in scopes:
        for day in days:
            for code in codes:
                expected = any(_covers_by_entry(e, code, day, hierarchy) for e in entries)
                assert in_scope(entries, code, day, hierarchy) is expected, (sorted(entries)[:3], code, day)
                allowed, forbidden = allowed + expected, forbidden + (not expected)
    assert allowed > 1000 and forbidden > 1000  # both answers were exercised
