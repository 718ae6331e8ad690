"""`dx status [--unit U] [--indicator I] [--json]`: every target worst-first (the query is dx/status.py).

`--json` prints a list of objects with exactly the keys indicator, unit, milestone, value, expected, target,
projected, status, reason.
"""

import argparse
import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from dx.context import Context, load_context
from dx.status import fetch_status
from shared.domain.status import STATUS_VI, Status, fmt
from shared.domain.timeutil import local_date

JSON_KEYS = ("indicator", "unit", "milestone", "value", "expected", "target", "projected", "status", "reason")
COLOURS = {
    Status.MISSED: "bold red",
    Status.AT_RISK: "red",
    Status.BEHIND: "yellow",
    Status.NO_DATA: "magenta",
    Status.ON_TRACK: "green",
    Status.ACHIEVED: "bold green",
    Status.NOT_APPLICABLE: "dim",
}


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    cmd = sub.add_parser("status", help="every target, worst first (trạng thái các chỉ tiêu)")
    cmd.add_argument("--unit", help="only this unit code (e.g. 38)")
    cmd.add_argument("--indicator", help="only this indicator code")
    cmd.add_argument("--json", action="store_true", help="machine-readable list of objects")
    cmd.set_defaults(handler=_status)


def render(rows: list[dict[str, Any]], ctx: Context, console: Console) -> None:
    today = local_date(datetime.now(UTC))
    table = Table(title=f"Tiến độ chuyển đổi số Thanh Hóa ({len(rows)} mục tiêu)")
    for header in ("Chỉ tiêu", "Đơn vị", "Mốc", "Giá trị", "Kế hoạch", "Mục tiêu", "Dự báo", "Trạng thái", "Lý do"):
        table.add_column(header, overflow="fold")
    for r in rows:
        ind = ctx.catalog.get(r["indicator"])
        unit = ctx.hierarchy.resolve(r["unit"], today)
        du = ind.display_unit if ind else ""
        status = Status(r["status"])
        label = STATUS_VI[status] + (" · số liệu cũ" if r.get("stale") else "")
        table.add_row(
            ind.label_vi if ind else r["indicator"], f"{unit.full_name} ({r['unit']})" if unit else r["unit"],
            r["milestone"], fmt(r["value"], du), fmt(r["expected"], du), fmt(r["target"], du),
            fmt(r["projected"], du), f"[{COLOURS[status]}]{label}[/]", r["reason"],
        )  # fmt: skip
    console.print(table)


def _status(args: argparse.Namespace) -> int:
    ctx = load_context()
    rows = asyncio.run(fetch_status(ctx, args.unit, args.indicator))
    if args.json:
        print(json.dumps([{k: r[k] for k in JSON_KEYS} for r in rows], ensure_ascii=False, indent=2))
    else:
        render(rows, ctx, Console())
    return 0
