"""`dx dlq list|replay`: inspect dead-lettered messages and re-drive selected ones after a fix."""

import argparse
import asyncio
import json
from typing import Any

from rich.console import Console
from rich.table import Table

from dx.dlq import DeadLetter, SelectionError, read_deadletters, replay, replayed_refs, select
from dx.render import safe
from shared.domain.timeutil import LOCAL_TZ
from shared.settings import Settings


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    dlq = sub.add_parser("dlq", help="dead-lettered messages").add_subparsers(dest="dlq_command", required=True)
    show = dlq.add_parser("list", help="show dead letters, most recent last")
    show.add_argument("--limit", type=int, default=50, metavar="N", help="the N most recent (default 50; 0 = all)")
    show.add_argument("--reason", default=None, metavar="CODE", help="only this reason code, e.g. unknown_unit")
    show.add_argument("--json", action="store_true", help="machine-readable list of objects")
    show.set_defaults(handler=_list)
    again = dlq.add_parser(
        "replay",
        help="re-drive dead letters to their source topic (each at most once)",
        description="Re-drive the selected dead letters through the collector: each goes to its source's own ingest "
        "topic (dx.ingest.v1.<source>, never dx.events.v1) and is checked again as on its first arrival "
        "(source, validation, scope). A letter is refused when its original is no longer the message Kafka holds "
        "at its origin (forged, altered or past retention), when no source was authenticated for it, or when its "
        "source is revoked. A dead letter is replayed at most once (recorded in PostgreSQL); re-delivered events "
        "are counted once anyway (event_id).",
    )
    again.add_argument(
        "--offset",
        action="append",
        default=[],
        metavar="P:N",
        help="dead letter at partition P, offset N (as `dx dlq list` shows; N alone if unambiguous)",
    )
    again.add_argument("--reason", default=None, metavar="CODE", help="every dead letter with this reason code")
    again.add_argument("--all", action="store_true", help="every dead letter (with --reason: every one of it)")
    again.add_argument("--dry-run", action="store_true", help="show what would be replayed, send nothing")
    again.set_defaults(handler=_replay)  # fmt: skip


def _table(letters: list[DeadLetter], done: set[tuple[int, int]] | None) -> Table:
    table = Table()
    for column in ("p:offset", "time", "service", "reason", "source", "original", "replayed"):
        table.add_column(column, overflow="fold")
    for d in letters:
        source = f"{d.source_topic} {d.source_partition}:{d.source_offset}" if d.source_topic else "?"
        replayed = "?" if done is None else ("yes" if (d.partition, d.offset) in done else "")
        source = f"{source} ({d.source})" if d.source else source
        when = d.timestamp.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(d.ref, when, safe(d.service), safe(d.reason), safe(source), safe(d.preview()), replayed)
    return table


def as_json(d: DeadLetter, done: set[tuple[int, int]] | None) -> dict[str, Any]:
    """One dead letter for `--json`; `replayed` is null when PostgreSQL could not say."""
    return {
        "partition": d.partition, "offset": d.offset, "time": d.timestamp.isoformat(), "service": d.service,
        "reason": d.reason, "code": d.code, "source_topic": d.source_topic, "source_partition": d.source_partition,
        "source_offset": d.source_offset, "source": d.source,
        "original": None if d.original is None else d.original.decode("utf-8", errors="replace"),
        "replayed": None if done is None else (d.partition, d.offset) in done,
    }  # fmt: skip


async def _done_or_none(settings: Settings) -> set[tuple[int, int]] | None:
    """Replayed dead letters, or None when PostgreSQL cannot say (the list still works without it)."""
    try:
        return await replayed_refs(settings)
    except Exception:  # listing must not depend on the database
        return None


def _list(args: argparse.Namespace) -> int:
    settings, console = Settings(), Console()
    letters = asyncio.run(read_deadletters(settings))
    if args.reason:
        letters = [d for d in letters if d.code == args.reason]
    shown = letters[-args.limit :] if args.limit > 0 else letters
    done = asyncio.run(_done_or_none(settings))
    if args.json:
        print(json.dumps([as_json(d, done) for d in shown], ensure_ascii=False, indent=2))
        return 0
    console.print(_table(shown, done))
    console.print(f"{len(shown)} of {len(letters)} dead letters in {settings.topic_deadletter}")
    return 0


def _replay(args: argparse.Namespace) -> int:
    settings, console = Settings(), Console()
    if not (args.offset or args.reason or args.all):
        console.print("[red]dx dlq replay: choose what to replay: --offset P:N, --reason CODE or --all")
        return 2
    letters = asyncio.run(read_deadletters(settings))
    try:
        chosen = select(letters, args.offset, args.reason, args.all)
    except SelectionError as err:
        console.print(f"[red]dx dlq replay: {err}")
        return 2
    if args.dry_run:
        console.print(_table(chosen, asyncio.run(_done_or_none(settings))))
        console.print(f"dry run: {len(chosen)} dead letters selected, nothing sent")
        return 0
    result = asyncio.run(replay(settings, chosen))
    for letter in result.replayed:
        console.print(f"replayed {letter.ref} through the collector (sent by {letter.source or 'its source'})")
    for letter, why in result.refused:
        console.print(f"[yellow]not replayed {letter.ref}: {why}")
    console.print(
        f"{len(result.replayed)} replayed, {len(result.already)} already replayed before, {len(result.refused)} refused"
    )
    return 1 if result.refused else 0
