"""The report as an Excel workbook (openpyxl): a summary sheet, then one sheet per indicator with its unit lines,
the month-end history beside the plan, and a native Excel line chart of both (so the figures stay editable)."""

from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from dx.report.model import Line, Report, Section
from shared.domain.status import STATUS_VI, Status

HEADERS = ("Mã đơn vị", "Đơn vị", "Mốc", "Giá trị", "Kế hoạch", "Mục tiêu", "Dự báo", "Trạng thái", "Lý do")
SUMMARY_HEADERS = ("Mã chỉ tiêu", "Chỉ tiêu", *HEADERS[2:])
FILLS = {
    "missed": "F4CCCC", "at_risk": "F9CB9C", "behind": "FFE599", "pending": "CFE2F3", "no_data": "EAD1DC",
    "on_track": "D9EAD3", "achieved": "B6D7A8", "not_applicable": "EEEEEE",
}  # fmt: skip
BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")


def write_workbook(report: Report, path: Path) -> Path:
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "Tổng hợp"
    _summary(summary, report)
    for section in report.sections:
        _indicator_sheet(book.create_sheet(sheet_name(section.indicator.code)), report, section)
    book.save(path)
    return path


def sheet_name(code: str) -> str:
    """Excel sheet names hold at most 31 characters."""
    return code[:31]


def status_label(status: str) -> str:
    return STATUS_VI[Status(status)]


def _summary(sheet: Worksheet, report: Report) -> None:
    sheet.append([report.title])
    sheet["A1"].font = Font(bold=True, size=14)
    evaluated = report.evaluated_at.isoformat(timespec="seconds") if report.evaluated_at else "—"
    sheet.append([f"Đơn vị: {report.unit.full_name} ({report.unit.code}) · đánh giá lúc {evaluated}"])
    sheet.append([])
    sheet.append(SUMMARY_HEADERS)
    _bold_row(sheet)
    for section in report.sections:
        line = section.headline
        if line is None:
            sheet.append([section.indicator.code, section.indicator.label_vi, section.milestone])
            continue
        sheet.append([section.indicator.code, section.indicator.label_vi, *_cells(line)[2:]])
        _fill(sheet, line.status)
    _widths(sheet, [22, 60, 8, 10, 10, 10, 10, 18, 70])


def _indicator_sheet(sheet: Worksheet, report: Report, section: Section) -> None:
    ind = section.indicator
    sheet.append([f"{ind.label_vi} ({ind.label_en})"])
    sheet["A1"].font = Font(bold=True, size=12)
    sheet.append([f"Mã {ind.code} · đơn vị tính {ind.display_unit or '—'} · mốc {section.milestone}"])
    sheet.append([])
    sheet.append(HEADERS)
    _bold_row(sheet)
    for line in [*([section.headline] if section.headline else []), *section.units]:
        sheet.append(_cells(line))
        _fill(sheet, line.status)
    _widths(sheet, [10, 40, 8, 10, 10, 10, 10, 18, 60])
    _chart(sheet, report, section)


def _chart(sheet: Worksheet, report: Report, section: Section) -> None:
    """History and plan in columns K–M, and a line chart of them."""
    first_row = 4
    sheet.cell(first_row, 11, "Ngày").font = BOLD
    sheet.cell(first_row, 12, "Thực hiện").font = BOLD
    sheet.cell(first_row, 13, "Kế hoạch").font = BOLD
    for i, point in enumerate(section.chart, start=first_row + 1):
        sheet.cell(i, 11, point.day)
        sheet.cell(i, 12, point.actual)
        sheet.cell(i, 13, point.planned)
    if not section.chart:
        return
    last_row = first_row + len(section.chart)
    chart = LineChart()
    chart.title = f"{section.indicator.label_vi} – {report.unit.name}"
    chart.y_axis.title = section.indicator.display_unit or "giá trị"
    chart.x_axis.number_format = "mm/yyyy"
    chart.height, chart.width = 9, 22
    chart.add_data(Reference(sheet, min_col=12, max_col=13, min_row=first_row, max_row=last_row), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=11, min_row=first_row + 1, max_row=last_row))
    sheet.add_chart(chart, "O4")


def _cells(line: Line) -> list[object]:
    return [
        line.unit, line.unit_name, line.milestone, line.value, line.expected, line.target, line.projected,
        status_label(line.status), line.reason,
    ]  # fmt: skip


def _fill(sheet: Worksheet, status: str) -> None:
    colour = FILLS.get(status)
    if colour:
        sheet.cell(sheet.max_row, 8).fill = PatternFill("solid", start_color=colour)
    for cell in sheet[sheet.max_row]:
        cell.alignment = WRAP


def _bold_row(sheet: Worksheet) -> None:
    for cell in sheet[sheet.max_row]:
        cell.font = BOLD


def _widths(sheet: Worksheet, widths: list[int]) -> None:
    for i, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + i)].width = width
