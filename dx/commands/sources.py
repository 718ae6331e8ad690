"""`dx sources add|list|revoke`: source credentials for the collector. `add` prints the token once."""

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table

from dx.context import Context, load_context
from dx.render import safe
from dx.sources import SourceAdmin, source_admin
from services.collector.sources import Source

T = TypeVar("T")


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    sources = sub.add_parser("sources", help="source credentials").add_subparsers(dest="sources_command", required=True)
    add = sources.add_parser("add", help="create a source (or re-issue a revoked one) and print its token once")
    add.add_argument("name")
    add.add_argument("--indicators", help="comma-separated indicator codes it may write (default: all)")
    add.add_argument("--units", help="comma-separated unit codes it may write, each with everything under it")
    add.set_defaults(handler=_add)
    listing = sources.add_parser("list", help="sources and their scopes (no secrets)")
    listing.add_argument("--json", action="store_true", help="machine-readable list of objects")
    listing.set_defaults(handler=_list)
    revoke = sources.add_parser("revoke", help="revoke a source's token (effective within the collector's cache TTL)")
    revoke.add_argument("name")
    revoke.set_defaults(handler=_revoke)


def _codes(text: str | None) -> list[str] | None:
    return None if text is None else sorted({c.strip() for c in text.split(",") if c.strip()})


def _unknown(ctx: Context, indicators: list[str] | None, units: list[str] | None) -> list[str]:
    bad = [f"unknown indicator {c}" for c in indicators or [] if ctx.catalog.get(c) is None]
    return bad + [f"unknown unit {c}" for c in units or [] if not ctx.hierarchy.known_anywhere(c)]


def _run(ctx: Context, work: Callable[[SourceAdmin], Awaitable[T]]) -> T:
    async def go() -> T:
        async with source_admin(ctx.settings) as admin:
            return await work(admin)

    return asyncio.run(go())


def _add(args: argparse.Namespace) -> int:
    ctx = load_context()
    indicators, units = _codes(args.indicators), _codes(args.units)
    problems = _unknown(ctx, indicators, units)
    if problems:
        print("error: " + "; ".join(problems))
        return 2
    try:
        token = _run(ctx, lambda repo: repo.add(args.name, indicators, units))
    except ValueError as err:
        print(f"error: {err}")
        return 1
    print(f"source {args.name} created. Its token, shown only now (send it as 'Authorization: Bearer <token>'):")
    print(token)
    return 0


def _list(args: argparse.Namespace) -> int:
    rows = _run(load_context(), lambda repo: repo.all())
    if args.json:
        print(json.dumps([as_json(s) for s in rows], ensure_ascii=False, indent=2))
        return 0
    table = Table(title=f"{len(rows)} sources (nguồn dữ liệu); * = every indicator / unit")
    for column in ("name", "status", "created", "indicators", "units"):
        table.add_column(column, overflow="fold")
    for s in rows:
        refusal = s.refusal(datetime.now(UTC))
        status = f"[dim]{refusal}[/]" if refusal else "[green]active[/]"
        created = s.created_at.strftime("%Y-%m-%d %H:%M") if s.created_at else ""
        indicators = ",".join(sorted(s.scope.indicators)) if s.scope.indicators is not None else "*"
        units = ",".join(sorted(s.scope.units)) if s.scope.units is not None else "*"
        table.add_row(safe(s.name), status, created, safe(indicators), safe(units))
    Console().print(table)
    return 0


def as_json(s: Source) -> dict[str, Any]:
    """One source for `--json`: its scope (null = everything), never its token."""
    return {
        "name": s.name,
        "status": s.refusal(datetime.now(UTC)) or "active",
        "created_at": s.created_at.isoformat() if s.created_at else None,
        "revoked_at": s.revoked_at.isoformat() if s.revoked_at else None,
        "expires_at": s.expires_at.isoformat() if s.expires_at else None,
        "indicators": sorted(s.scope.indicators) if s.scope.indicators is not None else None,
        "units": sorted(s.scope.units) if s.scope.units is not None else None,
    }


def _revoke(args: argparse.Namespace) -> int:
    if _run(load_context(), lambda repo: repo.revoke(args.name)):
        print(f"source {args.name} revoked")
        return 0
    print(f"error: no active source named {args.name}")
    return 1
