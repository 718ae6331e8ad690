"""`dx report` on a seeded database: the workbook and the PDF, opened with readers that did not write them, carry
exactly the numbers `dx status --json` prints; the PDF's pages render to images that are not blank and its text
keeps its Vietnamese diacritics."""

import asyncio
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
from python_calamine import CalamineWorkbook

from dx.main import main
from shared.domain.status import STATUS_VI, Status, fmt
from shared.settings import Settings
from tests.support.db import fetch
from tests.support.targets import write_target_rows


async def _seed(settings: Settings) -> None:
    await write_target_rows(settings)
    start = date(2025, 1, 1)
    for i in range(0, 365, 7):  # weekly history of the province's satisfaction: 80 % → ~91 %
        await fetch(
            settings,
            "INSERT INTO daily_values (indicator, unit, day, value) VALUES ('gov.satisfaction', '38', $1, $2)",
            start + timedelta(days=i), 80 + i * 0.03,
        )  # fmt: skip


async def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`main` runs its own event loop: call it from a worker thread."""
    code = await asyncio.to_thread(main, args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
async def seeded(db_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    await _seed(db_settings)
    monkeypatch.setenv("DX_PG_DATABASE", db_settings.pg_database)
    return db_settings


async def _status_json(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    code, out, _ = await _run(["status", "--json"], capsys)
    assert code == 0
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


async def test_the_workbook_carries_the_numbers_of_dx_status(
    seeded: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = {(r["indicator"], r["unit"], r["milestone"]): r for r in await _status_json(capsys)}
    code, out, _ = await _run(["report", "--year", "2025", "--out", str(tmp_path)], capsys)
    assert code == 0
    xlsx = Path(out.split()[0])
    book = CalamineWorkbook.from_path(str(xlsx))
    summary = book.get_sheet_by_name("Tổng hợp").to_python()
    assert summary[0][0] == "Báo cáo kết quả thực hiện chuyển đổi số năm 2025"
    by_code = {row[0]: row for row in summary[4:]}
    for code_ in ("gov.satisfaction", "soc.epayment_accounts", "overall.dti_rank"):
        want = status[(code_, "38", "2025")]
        got = by_code[code_]
        assert got[2:7] == ["2025", want["value"], want["expected"], want["target"], want["projected"] or ""]
        assert got[7] == STATUS_VI[Status(want["status"])] and got[8] == want["reason"]
    assert by_code["gov.eid_users"][3:] == [""] * 6  # no evaluation yet: an empty line, not an invented number
    sheet = book.get_sheet_by_name("gov.satisfaction").to_python()
    lines = {row[0]: row for row in sheet[4:] if row[0] in ("38", "14758", "14797")}
    assert lines["14758"][1] == "Phường Hàm Rồng" and lines["14758"][3] == 80.0
    assert lines["14797"][3] == "" and lines["14797"][7] == "Chưa có số liệu"
    history = [row[10:13] for row in sheet[3:] if row[10] != ""]
    assert history[0] == ["Ngày", "Thực hiện", "Kế hoạch"]
    assert len(history) > 12  # month ends from January 2025 to the 2030 milestone


async def test_the_pdf_has_the_numbers_and_diacritics_and_renders_to_non_blank_pages(
    seeded: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = {(r["indicator"], r["unit"], r["milestone"]): r for r in await _status_json(capsys)}
    code, out, _ = await _run(["report", "--year", "2025", "--out", str(tmp_path)], capsys)
    assert code == 0
    pdf = pypdfium2.PdfDocument(out.split()[1])
    first = pdf[0].get_textpage().get_text_range()
    assert "Báo cáo kết quả thực hiện chuyển đổi số năm 2025" in first
    assert "Tỷ lệ người dân, doanh nghiệp hài lòng" in first
    for key in (("gov.satisfaction", "38", "2025"), ("soc.epayment_accounts", "38", "2025")):
        assert fmt(status[key]["value"], "%") in first
    assert fmt(status[("overall.dti_rank", "38", "2025")]["value"], "hạng") in first
    assert len(pdf) == 1 + 13  # the summary, then one page per indicator of the catalog
    for index in (0, 1 + _section_index("gov.satisfaction")):
        image = pdf[index].render(scale=1).to_pil().convert("L")
        image.save(tmp_path / f"page-{index}.png")
        dark = sum(image.histogram()[:200])  # pixels darker than light grey
        assert dark > 0.01 * image.width * image.height, f"page {index} is blank"


def _section_index(code: str) -> int:
    from shared.domain.catalog import load_catalog

    return [i.code for i in load_catalog().indicators].index(code)


async def test_an_unknown_unit_or_year_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = await _run(["report", "--year", "2025", "--unit", "99999"], capsys)
    assert code == 2 and err.strip() == "dx report: --unit 99999: no unit with this code in force on 2025-12-31"
    code, _, err = await _run(["report", "--year", "2019"], capsys)
    assert code == 2 and err.count("\n") == 1 and err.startswith("dx report: --year 2019")
