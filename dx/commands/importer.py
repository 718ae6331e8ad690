"""`dx import FILE`: arguments, progress and the error report; the job is dx/importer.py."""

import argparse
import asyncio
import csv
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from dx.context import Context, load_context
from dx.errors import CommandError
from dx.importer import ImportFileError, ImportReport, ParsedRow, import_rows, parse_file

EPILOG = """\
columns (header row; any order; other columns are ignored):
  indicator    catalog code, e.g. overall.dti_rank
  unit         unit code in force at the date: 38 (province), 380 (district), 14755 (commune)
  date         YYYY-MM-DD (00:00 Asia/Ho_Chi_Minh that day) or RFC 3339 with offset
  numerator    whole number (ratio indicators), with denominator > 0
  denominator  whole number (ratio indicators)
  value        number (value, count and rank indicators)
  event_id     optional UUID; default: derived from the source and indicator|unit|date, so importing
               the same file twice changes nothing, and a row whose figures changed since is sent
               as a correction of what it sent before (not counted a second time)
Valid rows are imported even when others are rejected; the exit status is 1 when any row was rejected.
"""


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    cmd = sub.add_parser(
        "import",
        help="backfill historical values from CSV/XLSX (idempotent)",
        description="Import observations from a CSV or XLSX file through the collector's HTTP API.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("file", type=Path, help="a .csv (UTF-8/UTF-16; , ; or tab) or .xlsx file (first sheet)")
    cmd.add_argument(
        "--token", default=None, help="source token; default: a source 'importer' for this run (scoped, then revoked)"
    )
    cmd.add_argument("--collector-url", default=None, help="default: http://DX_COLLECTOR_HOST:DX_COLLECTOR_PORT")
    cmd.add_argument("--batch", type=int, default=500, metavar="N", help="events per request (1–1000)")
    cmd.add_argument("--errors", type=Path, default=None, metavar="CSV", help="also write the error report here")
    cmd.set_defaults(handler=_import)


def _import(args: argparse.Namespace) -> int:
    console = Console()
    if not 1 <= args.batch <= 1000:
        console.print("[red]dx import: --batch must be between 1 and 1000")
        return 2
    ctx = load_context()
    try:
        rows, report = parse_file(args.file, ctx.catalog, ctx.hierarchy)
    except ImportFileError as err:
        raise CommandError(str(err)) from err
    asyncio.run(_send(ctx, args, rows, report, console))  # failures: one line from dx/errors.py
    _print(console, args.file, report)
    if args.errors is not None:
        with args.errors.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["row", "field", "reason"])
            writer.writerows((e.row, e.field, e.reason) for e in report.errors)
    return 1 if report.errors else 0


async def _send(
    ctx: Context, args: argparse.Namespace, rows: list[ParsedRow], report: ImportReport, console: Console
) -> None:
    url = args.collector_url or f"http://{ctx.settings.collector_host}:{ctx.settings.collector_port}"
    if not rows:
        return
    with Progress(console=console) as progress:
        task = progress.add_task(f"importing {args.file.name}", total=len(rows))
        created = await import_rows(
            ctx.settings,
            url,
            args.token,
            rows,
            report,
            ctx.hierarchy,
            args.batch,
            lambda n: progress.advance(task, n),
        )
    if created:
        console.print(f"used source {created!r}, created for this import (scoped; now revoked)")


def _print(console: Console, path: Path, report: ImportReport) -> None:
    if report.errors:
        table = Table(title=f"rejected rows of {path.name}")
        for column in ("row", "field", "reason"):
            table.add_column(column)
        for error in report.errors:
            table.add_row(str(error.row), error.field, error.reason)
        console.print(table)
    console.print(
        f"{report.rows} rows: {report.accepted} accepted, {report.rejected_rows} rejected, "
        f"{report.duplicates} duplicate rows sent once, {report.corrections} changed rows sent as corrections"
    )
    if report.unknown_since_pruned and report.pruned_before is not None:
        console.print(
            f"[yellow]note: {report.unknown_since_pruned} rows were sent as new events; events received before "
            f"{report.pruned_before.isoformat()} are no longer kept, so a row an earlier import sent before that "
            "day counts again (docs/storage.md)"
        )
