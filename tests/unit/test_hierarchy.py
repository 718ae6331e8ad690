"""Resolution of unit codes across the three versions of Thanh Hóa's hierarchy."""

from datetime import date

from shared.domain.hierarchy import Hierarchy


def test_code_14758_is_dong_tho_under_380_in_2024(hierarchy: Hierarchy) -> None:
    unit = hierarchy.resolve("14758", date(2024, 11, 1))
    assert unit is not None and unit.full_name == "Phường Đông Thọ"
    assert unit.parent_code == "380"


def test_code_14758_is_ham_rong_under_the_province_in_2026(hierarchy: Hierarchy) -> None:
    unit = hierarchy.resolve("14758", date(2026, 1, 1))
    assert unit is not None and unit.full_name == "Phường Hàm Rồng"
    assert unit.parent_code == "38"


def test_dong_son_405_is_valid_in_2024_and_not_after_2025_01_01(hierarchy: Hierarchy) -> None:
    assert hierarchy.resolve("405", date(2024, 12, 31)) is not None
    assert hierarchy.resolve("405", date(2025, 1, 1)) is None
    assert hierarchy.resolve("405", date(2026, 6, 1)) is None
    assert hierarchy.known_anywhere("405")


def test_a_dong_son_commune_moves_from_405_to_380_to_the_province(hierarchy: Hierarchy) -> None:
    codes = lambda day: [u.code for u in hierarchy.ancestors("16381", day)]  # noqa: E731
    assert codes(date(2024, 6, 1)) == ["405", "38"]
    assert codes(date(2025, 2, 1)) == ["380", "38"]
    assert hierarchy.resolve("16381", date(2025, 8, 1)) is None  # merged away in July 2025
    assert [u.code for u in hierarchy.ancestors("16378", date(2025, 8, 1))] == ["38"]


def test_unit_counts_in_force_per_version(hierarchy: Hierarchy) -> None:
    count = lambda day, level: len(hierarchy.units_in_force(day, level))  # noqa: E731
    assert (count(date(2024, 11, 1), "district"), count(date(2024, 11, 1), "commune")) == (27, 558)
    assert (count(date(2025, 3, 1), "district"), count(date(2025, 3, 1), "commune")) == (26, 547)
    assert (count(date(2026, 1, 1), "district"), count(date(2026, 1, 1), "commune")) == (0, 166)


def test_children_follow_the_version_in_force(hierarchy: Hierarchy) -> None:
    assert len(hierarchy.children("38", date(2026, 1, 1))) == 166
    assert {u.level for u in hierarchy.children("38", date(2024, 1, 1))} == {"district"}
    assert all(u.parent_code == "405" for u in hierarchy.children("405", date(2024, 1, 1)))


def test_districts_exist_only_before_the_reform(hierarchy: Hierarchy) -> None:
    assert hierarchy.level_exists("district", date(2025, 6, 30))
    assert not hierarchy.level_exists("district", date(2025, 7, 1))


def test_scope_covers_the_unit_and_everything_under_it_at_the_date(hierarchy: Hierarchy) -> None:
    assert hierarchy.is_within("16381", "405", date(2024, 6, 1))
    assert not hierarchy.is_within("16381", "405", date(2025, 2, 1))
    assert hierarchy.is_within("16381", "380", date(2025, 2, 1))
    assert hierarchy.is_within("380", "380", date(2024, 1, 1))
    assert not hierarchy.is_within("380", "16381", date(2024, 1, 1))


def test_nothing_is_in_force_before_2020(hierarchy: Hierarchy) -> None:
    assert hierarchy.version_at(date(2019, 12, 31)) is None
    assert hierarchy.resolve("38", date(2019, 12, 31)) is None
