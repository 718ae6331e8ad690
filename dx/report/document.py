"""The report as a PDF (reportlab): title, summary table, then per indicator a chart of actual vs planned with the
milestones and the table of its units. Text is set in DejaVu Sans, whose glyphs cover Vietnamese (the PDF base
fonts do not: "ố", "ạ", "ữ" would print as boxes)."""

from datetime import date, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from dx.report.model import Line, Report, Section
from dx.report.workbook import FILLS, status_label
from shared.domain.status import fmt

FONT, BOLD_FONT = "DejaVuSans", "DejaVuSans-Bold"
DEFAULT_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")  # Debian's fonts-dejavu-core


class FontMissing(FileNotFoundError):
    """The TrueType fonts the document needs are not where they were looked for."""


def register_fonts(font_dir: Path) -> None:
    for name in (FONT, BOLD_FONT):
        path = font_dir / f"{name}.ttf"
        if not path.is_file():
            raise FontMissing(f"{path} not found: install Debian's fonts-dejavu-core or pass --font-dir")
        pdfmetrics.registerFont(TTFont(name, str(path)))


def write_document(report: Report, path: Path, font_dir: Path = DEFAULT_FONT_DIR) -> Path:
    register_fonts(font_dir)
    styles = _styles()
    margin = 12 * mm
    doc = SimpleDocTemplate(str(path), pagesize=landscape(A4), title=report.title, author="dxmon",
                            leftMargin=margin, rightMargin=margin, topMargin=margin, bottomMargin=margin)  # fmt: skip
    evaluated = report.evaluated_at.strftime("%d/%m/%Y %H:%M UTC") if report.evaluated_at else "—"
    story: list[Flowable] = [
        _text(report.title, styles["title"]),
        _text(f"{report.unit.full_name} ({report.unit.code}) · trạng thái đánh giá lúc {evaluated}", styles["body"]),
        Spacer(1, 4 * mm),
        _table(
            [["Chỉ tiêu", "Mốc", "Giá trị", "Kế hoạch", "Mục tiêu", "Dự báo", "Trạng thái", "Lý do"]]
            + [_summary_cells(s, styles) for s in report.sections],
            [70 * mm, 12 * mm, 20 * mm, 20 * mm, 20 * mm, 20 * mm, 25 * mm, 80 * mm],
            [s.headline.status if s.headline else None for s in report.sections],
        ),
    ]
    for section in report.sections:
        story += [PageBreak(), *_section(report, section, styles)]
    doc.build(story)
    return path


def _section(report: Report, section: Section, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    ind = section.indicator
    lines = [*([section.headline] if section.headline else []), *section.units]
    out: list[Flowable] = [
        _text(ind.label_vi, styles["heading"]),
        _text(f"{ind.label_en} · {ind.code} · mốc {section.milestone}", styles["body"]),
        _chart(report, section),
    ]
    if lines:
        du = ind.display_unit
        rows: list[list[Any]] = [["Đơn vị", "Giá trị", "Kế hoạch", "Mục tiêu", "Dự báo", "Trạng thái", "Lý do"]]
        rows += [[_text(f"{x.unit_name} ({x.unit})", styles["cell"]), *_numbers(x, du),
                  status_label(x.status), _text(x.reason, styles["cell"])] for x in lines]  # fmt: skip
        widths = [60 * mm, 20 * mm, 20 * mm, 20 * mm, 20 * mm, 25 * mm, 105 * mm]
        out.append(_table(rows, widths, [x.status for x in lines]))
    else:
        out.append(Paragraph("Chưa có đánh giá cho chỉ tiêu này.", styles["body"]))
    return out


def _chart(report: Report, section: Section) -> Drawing:
    """Actual (solid) and planned (dashed) by month, x in days since the first point."""
    drawing = Drawing(270 * mm, 70 * mm)
    points = section.chart
    if not points:
        return drawing
    origin = points[0].day
    actual = [((p.day - origin).days, p.actual) for p in points if p.actual is not None]
    planned = [((p.day - origin).days, p.planned) for p in points if p.planned is not None]
    series = [s for s in (actual, planned) if s]
    if not series:
        return drawing
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = int(15 * mm), int(10 * mm), int(200 * mm), int(55 * mm)
    plot.data = series
    for i, colour in enumerate([colors.HexColor("#1f77b4"), colors.HexColor("#d62728")][: len(series)]):
        plot.lines[i].strokeColor = colour
        plot.lines[i].strokeWidth = 1.5
    if len(series) == 2:
        plot.lines[1].strokeDashArray = [4, 2]
    years = range(origin.year + 1, points[-1].day.year + 1)
    plot.xValueAxis.valueSteps = [(date(y, 1, 1) - origin).days for y in years]  # a tick each 1 January
    plot.xValueAxis.labelTextFormat = lambda days: _month_label(origin, days)
    plot.xValueAxis.labels.fontName = plot.yValueAxis.labels.fontName = FONT
    plot.yValueAxis.labelTextFormat = lambda v: fmt(v)
    drawing.add(plot)
    legend = Legend()
    legend.x, legend.y, legend.fontName = int(222 * mm), int(55 * mm), FONT
    names = ["Thực hiện", "Kế hoạch"] if actual else ["Kế hoạch"]
    legend.colorNamePairs = [(plot.lines[i].strokeColor, names[i]) for i in range(len(series))]
    drawing.add(legend)
    milestones = ", ".join(f"{m}: {fmt(t.value, section.indicator.display_unit)}" for m, t in
                           sorted(section.indicator.targets.items()))  # fmt: skip
    drawing.add(String(222 * mm, 40 * mm, f"Mục tiêu {milestones}", fontName=FONT, fontSize=7))
    return drawing


def _month_label(origin: date, days: float) -> str:
    return (origin + timedelta(days=int(days))).strftime("%m/%Y")


def _summary_cells(section: Section, styles: dict[str, ParagraphStyle]) -> list[Any]:
    label = _text(section.indicator.label_vi, styles["cell"])
    line = section.headline
    if line is None:
        return [label, section.milestone, "—", "—", "—", "—", "—", ""]
    return [label, line.milestone, *_numbers(line, section.indicator.display_unit), status_label(line.status),
            _text(line.reason, styles["cell"])]  # fmt: skip


def _numbers(line: Line, unit: str) -> list[str]:
    return [fmt(line.value, unit), fmt(line.expected, unit), fmt(line.target, unit), fmt(line.projected, unit)]


def _table(rows: list[list[Any]], widths: list[float], statuses: list[str | None]) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    style: list[Any] = [
        ("FONT", (0, 0), (-1, -1), FONT, 8),
        ("FONT", (0, 0), (-1, 0), BOLD_FONT, 8),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDDDDD")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    status_column = len(widths) - 2
    for i, status in enumerate(statuses, start=1):
        if status in FILLS:
            style.append(("BACKGROUND", (status_column, i), (status_column, i), colors.HexColor(f"#{FILLS[status]}")))
    table.setStyle(TableStyle(style))
    return table


def _text(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text (reportlab reads <, > and & as markup)."""
    return Paragraph(escape(text), style)


def _styles() -> dict[str, ParagraphStyle]:
    return {
        "title": ParagraphStyle("title", fontName=BOLD_FONT, fontSize=16, leading=20, spaceAfter=4),
        "heading": ParagraphStyle("heading", fontName=BOLD_FONT, fontSize=12, leading=15),
        "body": ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12),
        "cell": ParagraphStyle("cell", fontName=FONT, fontSize=7.5, leading=9.5),
    }
