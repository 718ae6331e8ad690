"""`dx status`: targets worst first (the query is dx/status.py).

Without `--json`: when the statuses were evaluated, the counts by status of every matching target, then the worst
`--limit` rows (20; `--all` for every row). `--json` prints every matching row as a list of objects with the keys
indicator, unit, milestone, value, expected, target, projected, status, reason, carried_from, reporting_carried.
A value carried from predecessor units across a hierarchy change (docs/lineage.md) is marked in the table; a line
above it warns while the aggregator has events left to apply. `--wait SECONDS` first waits for those (exit 1 if
they are not applied in time; the rows are printed all the same).
"""

import argparse
import asyncio
import json
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from dx.context import Context, load_context
from dx.render import safe
from dx.status import StatusFilter, backlog, evaluated_at, fetch_filtered, unit_of, wait_settled
from shared.domain.status import STATUS_ORDER, STATUS_VI, Status, fmt
from shared.domain.timeutil import LOCAL_TZ, local_date

JSON_KEYS = (
    "indicator", "unit", "milestone", "value", "expected", "target", "projected", "status", "reason",
    "carried_from", "reporting_carried",
)  # fmt: skip
COLOURS = {
    Status.MISSED: "bold red",
    Status.AT_RISK: "red",
    Status.BEHIND: "yellow",
    Status.NO_DATA: "magenta",
    Status.PENDING: "blue",
    Status.ON_TRACK: "green",
    Status.ACHIEVED: "bold green",
    Status.NOT_APPLICABLE: "dim",
}
DEFAULT_LIMIT = 20


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    cmd = sub.add_parser("status", help="targets, worst first (trạng thái các chỉ tiêu)")
    cmd.add_argument("--unit", help="only this unit code (e.g. 38, the province)")
    cmd.add_argument("--indicator", help="only this indicator code")
    cmd.add_argument("--status", action="append", choices=[s.value for s in Status], metavar="STATUS",
                     help=f"only this status (repeatable): {', '.join(s.value for s in Status)}")  # fmt: skip
    cmd.add_argument("--milestone", help="only this milestone year (2025 or 2030)")
    cmd.add_argument("--level", choices=["province", "district", "commune"], help="only units of this level")
    cmd.add_argument("--limit", type=int, default=DEFAULT_LIMIT, metavar="N", help="rows in the table (default 20)")
    cmd.add_argument("--all", action="store_true", help="every matching row in the table")
    cmd.add_argument("--json", action="store_true", help="every matching row, machine-readable")
    cmd.add_argument("--wait", type=float, metavar="SECONDS",
                     help="first wait up to SECONDS for the aggregator to apply every accepted event, then for the "
                          "alerter's next evaluation (exit 1 if events are left)")  # fmt: skip
    cmd.set_defaults(handler=_status)


def problems(args: argparse.Namespace, ctx: Context) -> list[str]:
    """Filters that cannot match anything because they name nothing."""
    found = []
    if args.unit is not None and not ctx.hierarchy.known_anywhere(args.unit):
        found.append(f"--unit {args.unit}: no unit has this code in any version of the hierarchy")
    if args.indicator is not None and ctx.catalog.get(args.indicator) is None:
        found.append(f"--indicator {args.indicator}: not in the catalog (known: {', '.join(ctx.catalog.codes())})")
    milestones = {m for i in ctx.catalog.indicators for m in i.targets}
    if args.milestone is not None and args.milestone not in milestones:
        found.append(f"--milestone {args.milestone}: the catalog has milestones {', '.join(sorted(milestones))}")
    if args.limit < 1:
        found.append(f"--limit {args.limit}: give a positive number of rows (or --all)")
    if args.wait is not None and not args.wait > 0:
        found.append(f"--wait {args.wait}: give a positive number of seconds")
    return found


def _status(args: argparse.Namespace) -> int:
    ctx = load_context()
    found = problems(args, ctx)
    if found:
        print(f"dx status: {found[0]}", file=sys.stderr)
        return 2
    left = asyncio.run(wait_settled(ctx, args.wait)) if args.wait is not None else None
    unsettled = args.wait is not None and left != 0
    code = 1 if unsettled else 0
    if unsettled:
        what = f"{left} events" if left is not None else "an unknown number of events (Kafka did not answer)"
        print(f"dx status: after {args.wait:g} s the aggregator still has {what} to apply", file=sys.stderr)
    wanted = StatusFilter(args.unit, args.indicator, args.status, args.milestone, args.level)
    rows = asyncio.run(fetch_filtered(ctx, wanted))
    if args.json:
        print(json.dumps([{k: r[k] for k in JSON_KEYS} for r in rows], ensure_ascii=False, indent=2))
        return code
    console = Console()
    when = asyncio.run(evaluated_at(ctx))
    console.print(heading(when, len(rows)))
    line = backlog_line(left if args.wait is not None else asyncio.run(backlog(ctx)))
    if line:
        console.print(line)
    console.print(province_line(rows, ctx))
    console.print(counts_table(rows))
    shown = rows if args.all else rows[: args.limit]
    console.print(render(shown, ctx, f"{len(shown)} of {len(rows)} targets, worst first"))
    return code


def backlog_line(left: int | None) -> str:
    """A warning when the statuses may judge values still arriving (docs/alerts-and-metrics.md "Held alerts")."""
    if left == 0:
        return ""
    if left is None:
        return "[yellow]Không đo được tồn đọng của bộ tổng hợp (aggregator backlog unknown: Kafka did not answer)[/]"
    return (f"[yellow]Bộ tổng hợp còn {left:,} sự kiện chưa ghi: giá trị chưa đầy đủ, cảnh báo mới tạm giữ "
            f"(aggregator backlog: {left:,} events not yet applied)[/]").replace(",", ".")  # fmt: skip


def heading(when: datetime | None, total: int) -> str:
    if when is None:
        return "Tiến độ chuyển đổi số Thanh Hóa: chưa có lần đánh giá nào (the alerter has not evaluated yet)"
    at = when.astimezone(LOCAL_TZ).strftime("%H:%M %d/%m/%Y")
    return f"Tiến độ chuyển đổi số Thanh Hóa — đánh giá lúc {at} (evaluated at): {total} mục tiêu (targets)"


def province_line(rows: list[dict[str, Any]], ctx: Context) -> str:
    """The province's own targets in one line, e.g. "Tỉnh Thanh Hóa (38): 3 không đạt, 1 đã đạt"."""
    top = ctx.hierarchy.units_in_force(local_date(datetime.now(UTC)), "province")
    if not top:
        return ""
    province = top[0]
    counts = _counts(r for r in rows if r["unit"] == province.code)
    parts = [f"{n} {STATUS_VI[s].lower()}" for s, n in counts.items()] or ["không có mục tiêu nào khớp bộ lọc"]
    return f"{province.full_name} ({province.code}): {', '.join(parts)}"


def _counts(rows: Iterable[dict[str, Any]]) -> dict[Status, int]:
    """Rows per status, worst first."""
    counts: dict[Status, int] = {}
    for r in rows:
        counts[Status(r["status"])] = counts.get(Status(r["status"]), 0) + 1
    return dict(sorted(counts.items(), key=lambda item: STATUS_ORDER[item[0]]))


def counts_table(rows: list[dict[str, Any]]) -> Table:
    counts = _counts(rows)
    table = Table(title="Số mục tiêu theo trạng thái (targets by status)")
    for status in counts:
        table.add_column(f"[{COLOURS.get(status, 'white')}]{STATUS_VI[status]}[/] ({status.value})", justify="right")
    table.add_row(*(str(n) for n in counts.values()))
    return table


def carried(row: dict[str, Any]) -> str:
    """The lineage marker of a row: its value carried from N predecessor units, or N of a rollup's reporting units
    carried; '' when the value is the unit's own."""
    parts = []
    if row.get("carried_from"):
        parts.append(f"{row['carried_from']} đơn vị trước")
    if row.get("reporting_carried"):
        parts.append(f"{row['reporting_carried']} đơn vị con")
    return "; ".join(parts)


def render(rows: list[dict[str, Any]], ctx: Context, title: str) -> Table:
    today = local_date(datetime.now(UTC))
    table = Table(title=title)
    headers = ("Chỉ tiêu", "Đơn vị", "Mốc", "Giá trị", "Kế hoạch", "Mục tiêu", "Dự báo", "Trạng thái", "Lý do",
               "Mang sang từ (carried from)")  # fmt: skip
    for header in headers:
        table.add_column(header, overflow="fold")
    for r in rows:
        ind = ctx.catalog.get(r["indicator"])
        unit = unit_of(ctx, r["unit"], today)
        du = ind.display_unit if ind else ""
        status = Status(r["status"])
        label = STATUS_VI[status] + (" · số liệu cũ" if r.get("stale") else "")
        table.add_row(
            safe(ind.label_vi if ind else r["indicator"]),
            safe(f"{unit.full_name} ({r['unit']})" if unit else r["unit"]),
            r["milestone"], fmt(r["value"], du), fmt(r["expected"], du), fmt(r["target"], du),
            fmt(r["projected"], du), f"[{COLOURS.get(status, 'white')}]{label}[/]", safe(r["reason"]),
            carried(r),
        )  # fmt: skip
    return table
