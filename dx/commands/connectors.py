"""`dx connectors list|run NAME|test NAME`: the pull collector's connectors (docs/connectors.md)."""

import argparse
import asyncio
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from dx.connectors import list_connectors, run_connector, test_connector
from dx.render import safe
from services.pull.config import ConnectorConfigError
from services.pull.kinds.base import SourceError, Tally
from services.pull.settings import PullSettings
from shared.domain.timeutil import LOCAL_TZ

EVENT_COLUMNS = ("event_id", "indicator", "unit", "observed_at", "numerator", "denominator", "value", "period")


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    top = sub.add_parser("connectors", help="the pull collector's connectors")
    top.add_argument("--dir", type=Path, default=None, help="connector files (default: DX_PULL_CONNECTORS_DIR)")
    cmds = top.add_subparsers(dest="connectors_command", required=True)
    cmds.add_parser("list", help="every connector, its schedule and its last runs").set_defaults(handler=_list)
    run = cmds.add_parser("run", help="run a connector now, under its lease (as the pull collector would)")
    run.add_argument("name")
    run.set_defaults(handler=_run)
    test = cmds.add_parser("test", help="dry run: fetch and print the events it would send; sends and stores nothing")
    test.add_argument("name")
    test.add_argument("--limit", type=int, default=50, help="events shown (default 50; 0 = all)")
    test.set_defaults(handler=_test)


def _settings(args: argparse.Namespace) -> PullSettings:
    settings = PullSettings()
    return settings.model_copy(update={"pull_connectors_dir": args.dir}) if args.dir else settings


def _when(moment: Any) -> str:
    return "" if moment is None else moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")


def _list(args: argparse.Namespace) -> int:
    try:
        rows = asyncio.run(list_connectors(_settings(args)))
    except ConnectorConfigError as err:
        print(f"dx: {err}")
        return 2
    table = Table(title="Bộ thu thập chủ động (connectors)")
    for column in ("name", "kind", "schedule", "source", "last success", "failures", "last error"):
        table.add_column(column)
    for connector, state in rows:
        spec = connector.spec
        schedule = f"every {spec.schedule.every}" if spec.schedule.every else f"cron {spec.schedule.cron}"
        table.add_row(
            connector.name + ("" if spec.enabled else " (disabled)"), spec.kind, schedule, spec.source.name,
            _when(state["last_success_at"]) if state else "never", str(state["failures"]) if state else "0",
            safe(state["last_error"]) if state else "",
        )  # fmt: skip
    Console().print(table)
    return 0


def _errors(tally: Tally) -> Table:
    table = Table(title="Lỗi (rejected records)")
    for column in ("where", "row", "field", "reason"):
        table.add_column(column)
    for where, e in tally.errors:
        table.add_row(safe(where), str(e.row), safe(e.field), safe(e.reason))
    return table


def _run(args: argparse.Namespace) -> int:
    try:
        result = asyncio.run(run_connector(_settings(args), args.name))
    except ConnectorConfigError as err:
        print(f"dx: {err}")
        return 2
    if result is None:
        print(f"dx: connector {args.name} is being run by another process right now; try again later")
        return 1
    console = Console()
    fetched, accepted, rejected = result.tally.counts()
    console.print(f"{args.name}: {result.outcome}: fetched {fetched}, accepted {accepted}, rejected {rejected}")
    if result.tally.errors:
        console.print(_errors(result.tally))
    if result.error:
        print(f"dx: {args.name}: {result.error}")
    return 0 if result.outcome == "ok" else 1


def _test(args: argparse.Namespace) -> int:
    try:
        tally = asyncio.run(test_connector(_settings(args), args.name))
    except ConnectorConfigError as err:
        print(f"dx: {err}")
        return 2
    except SourceError as err:
        print(f"dx: {args.name}: the source failed: {err}")
        return 1
    console = Console()
    table = Table(title=f"{args.name}: sự kiện sẽ gửi (events it would send; dry run)")
    for column in EVENT_COLUMNS:
        table.add_column(column)
    shown = tally.preview if args.limit == 0 else tally.preview[: args.limit]
    for event in shown:
        table.add_row(*(safe("" if event.get(c) is None else str(event.get(c))) for c in EVENT_COLUMNS))
    console.print(table)
    if tally.errors:
        console.print(_errors(tally))
    more = f" (showing {len(shown)})" if len(shown) < len(tally.preview) else ""
    console.print(f"fetched {tally.fetched}, would send {len(tally.preview)}{more}, rejected {tally.rejected}")
    return 0
