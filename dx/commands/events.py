"""`dx events show EVENT_ID` and `dx events list --unit U --indicator I [--since DATE]`: the audit trail (dx/events.py).

`show`: every source's event with that id (who sent what and when, where it sits in Kafka), its correction chain
from the original to the one in force, what each step changed, the copies refused (duplicates, refused amendments)
and the value of its (indicator, unit) now. `list`: the events and refusals of one (indicator, unit) received since
a date, newest first. `--json` prints the same rows as JSON (times as RFC 3339). `prune`: the months of events past
the replay horizon are detached (dx/prune.py, docs/storage.md). `correct` / `retract`: an operator's amendment.
"""

import argparse
import asyncio
import json
import sys
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from rich.console import Console
from rich.table import Table

from dx import amend, events, prune
from dx.context import load_context
from dx.render import safe
from shared.adapters.kafka import retention_ms
from shared.domain.horizon import horizon_problem
from shared.domain.timeutil import LOCAL_TZ

DEFAULT_LIMIT = 200


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    cmd = sub.add_parser("events", help="audit trail of events and corrections (nhật ký sự kiện, đính chính)")
    verbs = cmd.add_subparsers(dest="verb", required=True)
    show = verbs.add_parser("show", help="one event: who sent it, its correction chain, what it changed")
    show.add_argument("event_id", help="the event's UUID")
    show.add_argument("--json", action="store_true", help="machine-readable")
    show.set_defaults(handler=_show)
    lst = verbs.add_parser("list", help="events and refusals of one (indicator, unit), newest first")
    lst.add_argument("--unit", required=True, help="unit code, e.g. 14758")
    lst.add_argument("--indicator", required=True, help="indicator code, e.g. gov.satisfaction")
    lst.add_argument("--since", type=date.fromisoformat, default=date(2020, 1, 1), metavar="YYYY-MM-DD",
                     help="received on or after this local day (default: everything)")  # fmt: skip
    lst.add_argument("--limit", type=int, default=DEFAULT_LIMIT, metavar="N", help="rows at most (default 200)")
    lst.add_argument("--json", action="store_true", help="machine-readable")
    lst.set_defaults(handler=_list)
    prune = verbs.add_parser("prune", help="detach the months of events past the replay horizon (docs/storage.md)")
    prune.add_argument("--horizon-days", type=int, default=None, metavar="N",
                       help="keep the months received in the last N days (default DX_EVENTS_HORIZON_DAYS, 45); "
                       "must exceed the Kafka retention of dx.events.v1 and dx.ingest.v1")  # fmt: skip
    prune.add_argument("--keep", action="store_true", help="keep each detached month as a table pruned_events_pYYYYMM")
    prune.add_argument("--dry-run", action="store_true", help="list the months that would go, change nothing")
    prune.set_defaults(handler=_prune)
    for verb, text in (("correct", "an operator corrects a source's event (đính chính)"),
                       ("retract", "an operator retracts a source's event (rút lại)")):  # fmt: skip
        amend = verbs.add_parser(verb, help=text)
        amend.add_argument("event_id", help="the UUID of the event in force (the last of its correction chain)")
        amend.add_argument("--source", required=True, help="the source that sent it")
        amend.add_argument("--operator", required=True, help="who amends it (recorded in the audit trail)")
        if verb == "correct":
            amend.add_argument("--numerator", type=int, help="ratio indicators, with --denominator")
            amend.add_argument("--denominator", type=int)
            amend.add_argument("--value", type=float, help="value, count and rank indicators")
            amend.add_argument("--observed-at", type=datetime.fromisoformat, default=None, metavar="RFC3339",
                               help="default: the original's")  # fmt: skip
        amend.set_defaults(handler=_amend)


def _show(args: argparse.Namespace) -> int:
    try:
        event_id = UUID(args.event_id)
    except ValueError:
        print(f"dx events show: {args.event_id!r} is not a UUID", file=sys.stderr)
        return 2
    ctx = load_context()
    trail = asyncio.run(events.show(ctx, event_id))
    if not trail.applied and not trail.refused:
        print(f"dx events show: no event {event_id} was applied or refused", file=sys.stderr)
        return 1
    if args.json:
        values = [{"indicator": k[0], "unit": k[1], **(v or {})} for k, v in trail.current.items()]
        doc = {"applied": trail.applied, "chains": trail.chains, "refused": trail.refused, "current": values}
        print(json.dumps(doc, default=_json, ensure_ascii=False, indent=2))
        return 0
    console = Console()
    for source, chain in trail.chains.items():
        console.print(chain_table(chain, f"Chuỗi đính chính (correction chain) — nguồn (source) {safe(source)}"))
    if trail.refused:
        console.print(refused_table(trail.refused))
    for (indicator, unit), now in trail.current.items():
        value = "no value" if now is None or now["value"] is None else f"{now['value']:g} ({events.measures(now)})"
        console.print(f"Giá trị hiện tại (value now) {safe(indicator)} {safe(unit)}: {value}")
    return 0


def _list(args: argparse.Namespace) -> int:
    ctx = load_context()
    if ctx.catalog.get(args.indicator) is None:
        print(f"dx events list: --indicator {args.indicator}: not in the catalog", file=sys.stderr)
        return 2
    if not ctx.hierarchy.known_anywhere(args.unit):
        print(f"dx events list: --unit {args.unit}: no unit has this code in any version of the hierarchy",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.limit < 1:
        print(f"dx events list: --limit {args.limit}: give a positive number of rows", file=sys.stderr)
        return 2
    since = datetime.combine(args.since, time(), LOCAL_TZ)
    rows = asyncio.run(events.listed(ctx, args.indicator, args.unit, since, args.limit))
    if args.json:
        print(json.dumps([{**r, "kind": events.kind(r)} for r in rows], default=_json, ensure_ascii=False, indent=2))
        return 0
    table = Table(title=f"Sự kiện (events) {safe(args.indicator)} · {safe(args.unit)}: {len(rows)}, newest first")
    for header in ("Nhận lúc (received)", "Nguồn (source)", "event_id", "Loại (kind)", "Quan sát (observed)",
                   "Số liệu (measures)", "Ghi chú (note)"):  # fmt: skip
        table.add_column(header, overflow="fold")
    for r in rows:
        note = r.get("reason") or _amends(r)
        table.add_row(_when(r["received_at"]), safe(r["source"]), r["event_id"], events.kind(r),
                      _when(r["observed_at"]), events.measures(r), safe(note))  # fmt: skip
    Console().print(table)
    return 0


def _amend(args: argparse.Namespace) -> int:
    try:
        original = UUID(args.event_id)
    except ValueError:
        print(f"dx events {args.verb}: {args.event_id!r} is not a UUID", file=sys.stderr)
        return 2
    measures: dict[str, Any] = {}
    if args.verb == "correct":
        given = {k: getattr(args, k) for k in ("numerator", "denominator", "value")}
        measures = {k: v for k, v in given.items() if v is not None}
        if not measures:
            print("dx events correct: give --numerator and --denominator, or --value", file=sys.stderr)
            return 2
    at = getattr(args, "observed_at", None)
    if at is not None and at.tzinfo is None:
        print("dx events correct: --observed-at needs an offset, e.g. 2025-12-15T10:00:00+07:00", file=sys.stderr)
        return 2
    ctx = load_context()
    try:
        sent = asyncio.run(amend.send(ctx, amend.Amendment(args.source, original, args.operator, measures, at)))
    except amend.AmendError as err:
        print(f"dx events {args.verb}: {err}", file=sys.stderr)
        return 2
    print(f"sent {args.verb}ion {sent} of {original} (source {args.source}); see: dx events show {sent}")
    return 0


def _prune(args: argparse.Namespace) -> int:
    ctx = load_context()
    days = ctx.settings.events_horizon_days if args.horizon_days is None else args.horizon_days
    topics = [ctx.settings.topic_events, ctx.settings.topic_ingest]
    problem = horizon_problem(days, asyncio.run(retention_ms(ctx.settings, topics)))
    if problem is not None:
        print(f"dx events prune: --horizon-days {days}: {problem}", file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    months = asyncio.run(prune.candidates(ctx.settings, now, timedelta(days=days)))
    kept = f"events received since {(now - timedelta(days=days)):%Y-%m-%d} stay (horizon {days} days)"
    if not months:
        print(f"nothing to prune: no month is past the horizon; {kept}")
        return 0
    for month, partition in months:
        if args.dry_run:
            print(f"would prune {month:%Y-%m} ({partition})")
            continue
        done = asyncio.run(prune.prune_month(ctx.settings, month, partition, args.keep))
        where = f"kept as {done.kept_as}" if done.kept_as else "dropped"
        print(
            f"pruned {month:%Y-%m}: {done.events:,} events ({done.bytes / 1e6:,.1f} MB) {where}; floors: "
            f"{done.snapshot_days:,} snapshot days, {done.periods:,} periods, {done.bucket_days:,} buckets; "
            f"{done.refusals:,} refusals removed"
        )
    print(("would keep: " if args.dry_run else "kept: ") + kept)
    return 0


def chain_table(chain: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
    for header in ("#", "event_id", "Loại (kind)", "Nhận lúc (received)", "Quan sát (observed)", "Thay đổi (change)",
                   "Kafka"):  # fmt: skip
        table.add_column(header, overflow="fold")
    before: dict[str, Any] | None = None
    for step, r in enumerate(chain):
        table.add_row(str(step), r["event_id"], events.kind(r), _when(r["received_at"]), _when(r["observed_at"]),
                      events.change(r, before), f"{r['kafka_partition']}@{r['kafka_offset']}")  # fmt: skip
        before = r
    return table


def refused_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Không tính (not counted): duplicates and refused amendments")
    for header in ("Nguồn (source)", "Lý do (reason)", "Nhận lúc (received)", "Kafka"):
        table.add_column(header, overflow="fold")
    for r in rows:
        table.add_row(safe(r["source"]), safe(r["reason"]), _when(r["received_at"]),
                      f"{r['kafka_partition']}@{r['kafka_offset']}")  # fmt: skip
    return table


def _amends(row: dict[str, Any]) -> str:
    if row.get("corrects"):
        return f"corrects {row['corrects']}"
    if row.get("retracts"):
        return f"retracts {row['retracts']}"
    return f"replaced by {row['replaced_by']}" if row.get("replaced_by") else ""


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")


def _json(found: Any) -> Any:
    if isinstance(found, datetime):
        return found.isoformat()
    return str(found)
