"""Lineage between hierarchy versions: loaded from the shipped files, validated, and the heir rule for divided
communes (docs/lineage.md)."""

import shutil
from datetime import date
from pathlib import Path

import pytest

from shared.domain.hierarchy import Hierarchy, load_hierarchy

V2020, V2025_01, V2025_07 = date(2020, 1, 1), date(2025, 1, 1), date(2025, 7, 1)
UNITS = Path(__file__).resolve().parents[2] / "shared" / "data" / "units"


def copy_units(tmp_path: Path) -> Path:
    folder = tmp_path / "units"
    shutil.copytree(UNITS, folder)
    return folder


def test_every_new_commune_has_predecessors_and_ham_rong_has_five(hierarchy: Hierarchy) -> None:
    july = hierarchy.versions[2]
    communes = [u.code for u in july.units.values() if u.level == "commune"]
    assert len(communes) == 166 and all(july.predecessors[c] for c in communes)
    assert july.predecessors["14758"] == ("14755", "14758", "14761", "14791", "15859")


def test_district_and_province_lineage_follow_their_communes(hierarchy: Hierarchy) -> None:
    jan = hierarchy.versions[1]
    assert jan.predecessors["380"] == ("380", "405")  # Đông Sơn's communes moved into the city
    assert jan.predecessors["381"] == ("381",)
    assert hierarchy.versions[2].predecessors["38"] == ("38",)
    assert hierarchy.heir_of(("405", V2020)) == ("380", V2025_01)
    assert hierarchy.heir_of(("380", V2025_01)) is None  # the district level is abolished


def test_a_divided_commune_goes_to_the_successor_keeping_its_code_else_to_none(hierarchy: Hierarchy) -> None:
    assert hierarchy.heir_of(("14758", V2025_01)) == ("14758", V2025_07)  # Đông Thọ: Hàm Rồng and Hạc Thành
    assert hierarchy.heir_of(("16435", V2025_01)) is None  # An Hưng: Hạc Thành 14797 and 16417, neither 16435
    assert hierarchy.heir_of(("14788", V2020)) == ("14770", V2025_01)  # Tân Sơn merged into Phú Sơn
    assert hierarchy.heirs_after(("14758", V2020)) == [("14758", V2025_01), ("14758", V2025_07)]


def test_ham_rong_history_is_its_own_then_its_predecessors_then_theirs(hierarchy: Hierarchy) -> None:
    sources = hierarchy.sources(("14758", V2025_07))
    assert sources[0].node == ("14758", V2025_07) and sources[0].path == ()
    assert sources[0].first_day == V2025_07
    carried = {s.node: s for s in sources[1:]}
    assert set(carried) == {(c, v) for c in ("14755", "14758", "14761", "14791", "15859") for v in (V2020, V2025_01)}
    dong_tho_2024 = carried[("14758", V2020)]
    assert (dong_tho_2024.first_day, dong_tho_2024.last_day) == (V2020, date(2024, 12, 31))
    assert dong_tho_2024.path == (("14758", V2025_07), ("14758", V2025_01))


def test_a_code_names_the_unit_in_force_on_the_day(hierarchy: Hierarchy) -> None:
    assert hierarchy.node_at("14758", date(2025, 6, 15)) == ("14758", V2025_01)
    assert hierarchy.node_at("14758", date(2026, 1, 5)) == ("14758", V2025_07)
    assert hierarchy.node_at("405", date(2025, 2, 1)) is None


def test_every_old_commune_must_be_accounted_for(tmp_path: Path) -> None:
    folder = copy_units(tmp_path)
    lineage = folder / "thanh_hoa_lineage_2025-07.csv"
    lines = lineage.read_text(encoding="utf-8").splitlines(keepends=True)
    lineage.write_text("".join(line for line in lines if not line.startswith("14761,")), encoding="utf-8")
    with pytest.raises(ValueError, match="old communes with no successor row: 14761"):
        load_hierarchy(folder)


def test_a_new_commune_without_predecessor_is_refused(tmp_path: Path) -> None:
    folder = copy_units(tmp_path)
    lineage = folder / "thanh_hoa_lineage_2025-07.csv"
    text = lineage.read_text(encoding="utf-8").replace(",14812,Phường Bỉm Sơn", ",14797,Phường Hạc Thành")
    lineage.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="new communes with no predecessor: 14812"):
        load_hierarchy(folder)


def test_a_name_that_does_not_match_its_code_is_refused(tmp_path: Path) -> None:
    folder = copy_units(tmp_path)
    lineage = folder / "thanh_hoa_lineage_2025-01.csv"
    text = lineage.read_text(encoding="utf-8").replace("14755,Phường Hàm Rồng,14755", "14755,Phường Đông Thọ,14755")
    lineage.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="old code 14755 is 'Phường Hàm Rồng', not 'Phường Đông Thọ'"):
        load_hierarchy(folder)


def test_a_version_without_lineage_file_is_refused(tmp_path: Path) -> None:
    folder = copy_units(tmp_path)
    manifest = folder / "versions.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('lineage = "thanh_hoa_lineage_2025-07.csv"\n', ""))
    with pytest.raises(ValueError, match="needs a lineage file"):
        load_hierarchy(folder)
