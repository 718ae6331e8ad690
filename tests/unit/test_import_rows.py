"""Reading backfill files: rows become events with deterministic ids, bad rows a report (row, field, reason)."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from dx.importer import ImportFileError, RowError, error_for_row, parse_file
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


def test_the_same_file_gives_the_same_event_ids_and_a_changed_number_another(
    tmp_path: Path, catalog: Catalog, hierarchy: Hierarchy
) -> None:
    first, _ = parse_file(_write(tmp_path, CSV), catalog, hierarchy, NOW)
    again, _ = parse_file(_write(tmp_path, CSV, "copy.csv"), catalog, hierarchy, NOW)
    assert [r.event["event_id"] for r in first] == [r.event["event_id"] for r in again]
    changed, _ = parse_file(_write(tmp_path, CSV.replace("120,400", "121,400")), catalog, hierarchy, NOW)
    assert changed[0].event["event_id"] != first[0].event["event_id"]


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
