"""`dx report --year Y [--unit U] [--out DIR]`: the yearly results report as an Excel workbook and a PDF (the work is
in dx/report/)."""

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from dx.context import load_context
from dx.report.document import DEFAULT_FONT_DIR, FontMissing, write_document
from dx.report.model import assemble, end_of_year
from dx.report.query import fetch_report_inputs
from dx.report.workbook import write_workbook
from shared.domain.timeutil import local_date


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    cmd = sub.add_parser("report", help="yearly results report, Excel + PDF (báo cáo kết quả năm)")
    cmd.add_argument("--year", type=int, required=True, help="the year reported on, e.g. 2025")
    cmd.add_argument("--unit", default="38", help="reporting unit code (default 38, the province)")
    cmd.add_argument("--out", type=Path, default=Path("."), help="folder the two files are written to")
    cmd.add_argument("--font-dir", type=Path, default=DEFAULT_FONT_DIR, help="folder holding DejaVuSans*.ttf")
    cmd.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    ctx = load_context()
    today = local_date(datetime.now(UTC))
    if not 2020 <= args.year <= today.year:
        return _fail(f"--year {args.year}: choose a year from 2020 to {today.year}")
    day = end_of_year(args.year, today)
    if ctx.hierarchy.resolve(args.unit, day) is None:
        return _fail(f"--unit {args.unit}: no unit with this code in force on {day.isoformat()}")
    rows, histories, evaluated_at = asyncio.run(fetch_report_inputs(ctx, args.unit, day))
    report = assemble(ctx.catalog, ctx.hierarchy, args.year, args.unit, rows, histories, evaluated_at, today)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"bao-cao-cds-{args.year}-{args.unit}"
    try:
        pdf = write_document(report, args.out / f"{stem}.pdf", args.font_dir)
    except FontMissing as missing:
        return _fail(str(missing))
    xlsx = write_workbook(report, args.out / f"{stem}.xlsx")
    print(f"{xlsx}\n{pdf}")
    return 0


def _fail(message: str) -> int:
    print(f"dx report: {message}", file=sys.stderr)
    return 2
