"""Reading backfill files: rows become events with deterministic ids, bad rows a report (row, field, reason)."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from dx.importer import ImportFileError, RowError, error_for_row, parse_file, with_source
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 1, 15, tzinfo=UTC)

CSV = """\
indicator,unit,date,numerator,denominator,value,comment
gov.eid_users,14755,2024-03-01,120,400,,first commune
overall.dti_rank,38,2023-12-31,,,11,
gov.eid_users,14755,2024-03-01,120,400,,the same row again
gov.eid_users,14755,2024-03-01,500,400,,numerator too big
gov.eid_users,380,2024-03-01,1,2,,a district
gov.eid_users,14755,2025-08-01,1,2,,code reused? not in force in 2025-08 as this commune
overall.dti_rank,38,31/12/2023,,,11,bad date
,38,2023-12-31,,,11,no indicator
gov.eid_users,14755,2024-03-01,1.5,2,,half a person
,,,,,,
overall.dti_rank,38,2030-01-01,,,3,future
"""


def _write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_rows_become_events_and_bad_rows_are_reported_by_row_and_field(
    tmp_path: Path, catalog: Catalog, hierarchy: Hierarchy
) -> None:
    rows, report = parse_file(_write(tmp_path, CSV), catalog, hierarchy, NOW)
    assert [r.row for r in rows] == [2, 3]
    assert rows[0].event == {
        "indicator": "gov.eid_users",
        "unit": "14755",
        "observed_at": "2024-03-01T00:00:00+07:00",
        "numerator": 120,
        "denominator": 400,
        "event_id": rows[0].event["event_id"],
    }
    assert rows[1].event["value"] == 11.0
    assert report.rows == 10 and report.duplicates == 1
    found = {(e.row, e.field, e.reason.split(":")[0]) for e in report.errors}
    assert found == {
        (5, "event", "out_of_range"),
        (6, "unit", "wrong_level"),
        (7, "unit", "unit_not_in_force"),
        (8, "date", "invalid_field"),
        (9, "indicator", "missing_field"),
        (10, "numerator", "invalid_field"),
        (12, "event", "observed_in_future"),
    }


def test_a_row_keeps_its_event_id_when_its_figures_change_and_each_source_has_its_own(
    tmp_path: Path, catalog: Catalog, hierarchy: Hierarchy
) -> None:
    first, _ = parse_file(_write(tmp_path, CSV), catalog, hierarchy, NOW)
    again, _ = parse_file(_write(tmp_path, CSV, "copy.csv"), catalog, hierarchy, NOW)
    assert [r.event["event_id"] for r in first] == [r.event["event_id"] for r in again]
    changed, _ = parse_file(_write(tmp_path, CSV.replace("120,400", "121,400")), catalog, hierarchy, NOW)
    assert changed[0].event["event_id"] == first[0].event["event_id"]  # the same observation: corrected when sent
    ours, theirs = with_source(first[0], "thue"), with_source(first[0], "kho-bac")
    assert len({first[0].event["event_id"], ours.event["event_id"], theirs.event["event_id"]}) == 3
    assert with_source(first[0], "thue") == ours


def test_two_rows_of_one_observation_with_other_figures_are_reported(
    tmp_path: Path, catalog: Catalog, hierarchy: Hierarchy
) -> None:
    text = (
        "indicator,unit,date,numerator,denominator\n"
        "gov.eid_users,14755,2024-03-01,1,2\n"
        "gov.eid_users,14755,2024-03-01,1,3\n"
    )
    rows, report = parse_file(_write(tmp_path, text), catalog, hierarchy, NOW)
    assert [r.row for r in rows] == [2]
    assert [(e.row, e.reason.split(":")[0]) for e in report.errors] == [(3, "conflicting_rows")]


def test_an_explicit_event_id_is_kept_and_a_bad_one_reported(
    tmp_path: Path, catalog: Catalog, hierarchy: Hierarchy
) -> None:
    text = (
        "event_id,indicator,unit,date,value\n"
        "8a4f6f0e-5b7e-4f55-a0c8-2f3c1c1c9e01,overall.dti_rank,38,2022-12-31T17:00:00+07:00,15\n"
        "not-a-uuid,overall.dti_rank,38,2021-12-31,12\n"
    )
    rows, report = parse_file(_write(tmp_path, text), catalog, hierarchy, NOW)
    assert rows[0].event["event_id"] == "8a4f6f0e-5b7e-4f55-a0c8-2f3c1c1c9e01"
    assert rows[0].event["observed_at"] == "2022-12-31T17:00:00+07:00"
    assert [(e.row, e.field) for e in report.errors] == [(3, "event_id")]


def test_xlsx_files_read_like_csv_with_spreadsheet_dates_and_numbers(
    tmp_path: Path, catalog: Catalog, hierarchy: Hierarchy
) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["Indicator", "Unit", "Date", "Numerator", "Denominator", "Value"])
    sheet.append(["gov.eid_users", 14755, datetime(2024, 3, 1), 120, 400, None])
    sheet.append(["overall.dti_rank", 38.0, datetime(2023, 12, 31, 9, 30), None, None, 11])
    sheet.append(["soc.communes_dx_completed", 14755, datetime(2024, 3, 1), None, None, 2])
    path = tmp_path / "data.xlsx"
    book.save(path)
    rows, report = parse_file(path, catalog, hierarchy, NOW)
    assert [(r.row, r.event["unit"], r.event["observed_at"]) for r in rows] == [
        (2, "14755", "2024-03-01T00:00:00+07:00"),
        (3, "38", "2023-12-31T09:30:00+07:00"),
    ]
    assert [(e.row, e.field, e.reason.split(":")[0]) for e in report.errors] == [(4, "value", "out_of_range")]


def test_a_file_without_the_needed_columns_is_refused_as_a_whole(
    tmp_path: Path, catalog: Catalog, hierarchy: Hierarchy
) -> None:
    with pytest.raises(ImportFileError, match="date"):
        parse_file(_write(tmp_path, "indicator,unit,value\nx,38,1\n"), catalog, hierarchy, NOW)
    with pytest.raises(ImportFileError, match="unsupported"):
        parse_file(_write(tmp_path, "", "data.json"), catalog, hierarchy, NOW)


def test_api_errors_map_to_row_field_reason() -> None:
    assert error_for_row(7, "forbidden: unit: this source may not write unit 38") == RowError(
        7, "unit", "forbidden: this source may not write unit 38"
    )


def test_the_shipped_dti_sample_is_valid(catalog: Catalog, hierarchy: Hierarchy) -> None:
    rows, report = parse_file(ROOT / "samples" / "thanh_hoa_dti_ranks.csv", catalog, hierarchy, NOW)
    assert report.errors == []
    assert {(r.event["indicator"], r.event["observed_at"][:4], r.event["value"]) for r in rows} >= {
        ("overall.dti_rank", "2021", 12.0),
        ("overall.dti_rank", "2023", 11.0),
    }


def test_an_optional_period_column_names_the_period_a_value_describes(
    tmp_path: Path, catalog: Catalog, hierarchy: Hierarchy
) -> None:
    text = (
        "indicator,unit,date,value,period\n"
        "econ.digital_economy_share,38,2025-09-30,14.2,2024\n"
        "econ.digital_economy_share,38,2025-09-30,14.2,\n"
        "econ.digital_economy_share,38,2025-09-30,14.9,2024-13\n"
    )
    valid, report = parse_file(_write(tmp_path, text), catalog, hierarchy, NOW)
    assert [r.event.get("period") for r in valid] == ["2024", None]
    assert [(e.row, e.field, e.reason.split(":")[0]) for e in report.errors] == [(4, "period", "invalid_period")]
    book = Workbook()
    book.active.append(["indicator", "unit", "date", "value", "period"])
    book.active.append(["econ.digital_economy_share", 38, datetime(2025, 9, 30), 14.2, 2024])
    book.save(tmp_path / "sheet.xlsx")
    (row,), _ = parse_file(tmp_path / "sheet.xlsx", catalog, hierarchy, NOW)
    assert row.event["period"] == "2024"  # a year typed as a number


def test_a_tokenless_imports_own_source_may_write_the_unit_each_row_meant(
    tmp_path: Path, catalog: Catalog, hierarchy: Hierarchy
) -> None:
    """14758 was Phường Đông Thọ until 2025-07-01 and is Phường Hàm Rồng since: the run's scope names the unit of
    each row's date, so the 2024 row of Đông Thọ is not refused as outside a scope of today's Hàm Rồng."""
    from dx.importer import scope_units
    from shared.contracts.events import EventV1
    from shared.domain.validation import Scope, check_scope

    path = tmp_path / "reused.csv"
    path.write_text("indicator,unit,date,numerator,denominator\ngov.eid_users,14758,2024-06-01,80,100\n"
                    "gov.eid_users,14758,2025-09-01,90,100\n")  # fmt: skip
    rows, report = parse_file(path, catalog, hierarchy, NOW)
    assert not report.errors and len(rows) == 2
    entries = scope_units(rows, hierarchy)
    assert entries == ["14758@2020-01-01", "14758@2025-07-01"]
    scope = Scope(units=frozenset(entries))
    events = [EventV1.model_validate(row.event, context={"now": NOW}) for row in rows]
    assert [check_scope(e, scope, hierarchy) for e in events] == [None, None]
    bare = Scope(units=frozenset({"14758"}))  # the codes alone: today's Hàm Rồng, which refuses Đông Thọ's 2024
    assert (check_scope(events[0], bare, hierarchy) or "").startswith("forbidden")


SIMPLE = "indicator,unit,date,numerator,denominator,value,ghi chú (note)\n" + (
    "gov.eid_users,14755,2024-03-01,120,400,,xã đầu tiên\noverall.dti_rank,38,2023-12-31,,,11,Thanh Hóa\n"
)


def _events(path: Path, catalog: Catalog, hierarchy: Hierarchy) -> list[tuple[int, str, str]]:
    rows, report = parse_file(path, catalog, hierarchy, NOW)
    assert not report.errors
    return [(r.row, r.event["indicator"], r.event["event_id"]) for r in rows]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("semicolon", SIMPLE.replace(",", ";")),  # Excel's CSV where the decimal separator is a comma (vi-VN)
        ("tab", SIMPLE.replace(",", "\t")),
        ("semicolon, quoted header", SIMPLE.replace(",", ";").replace("indicator", '"indicator"', 1)),
    ],
)
def test_the_delimiter_is_taken_from_the_header_row(
    tmp_path: Path, catalog: Catalog, hierarchy: Hierarchy, name: str, text: str
) -> None:
    expected = _events(_write(tmp_path, SIMPLE, "comma.csv"), catalog, hierarchy)
    assert len(expected) == 2
    assert _events(_write(tmp_path, text), catalog, hierarchy) == expected, name


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
def test_utf8_with_bom_and_utf16_with_its_bom_read_like_utf8(
    tmp_path: Path, catalog: Catalog, hierarchy: Hierarchy, encoding: str
) -> None:
    expected = _events(_write(tmp_path, SIMPLE.replace(",", ";"), "plain.csv"), catalog, hierarchy)
    bom = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}.get(encoding, b"")
    path = tmp_path / "data.csv"
    path.write_bytes(bom + SIMPLE.replace(",", ";").replace("\n", "\r\n").encode(encoding))
    assert _events(path, catalog, hierarchy) == expected


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("data.csv", SIMPLE.encode("utf-16-le"), "UTF-16 without a byte-order mark"),
        ("data.csv", SIMPLE.replace("xã đầu tiên", "x").encode("cp1252"), "CSV UTF-8"),
        ("data.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "--convert-to xlsx"),
        ("data.csv", b"", "the file is empty"),
    ],
)
def test_unreadable_files_are_refused_saying_what_to_do(
    tmp_path: Path, catalog: Catalog, hierarchy: Hierarchy, name: str, data: bytes, says: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ImportFileError, match=re.escape(says)):
        parse_file(path, catalog, hierarchy, NOW)
