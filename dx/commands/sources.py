"""`dx sources add|list|revoke`: source credentials for the collector. `add` prints the token once."""

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from dx.context import Context, load_context
from dx.sources import SourceAdmin, source_admin

T = TypeVar("T")


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    sources = sub.add_parser("sources", help="source credentials").add_subparsers(dest="sources_command", required=True)
    add = sources.add_parser("add", help="create a source (or re-issue a revoked one) and print its token once")
    add.add_argument("name")
    add.add_argument("--indicators", help="comma-separated indicator codes it may write (default: all)")
    add.add_argument("--units", help="comma-separated unit codes it may write, each with everything under it")
    add.set_defaults(handler=_add)
    sources.add_parser("list", help="sources and their scopes (no secrets)").set_defaults(handler=_list)
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
    print(f"{'name':<24} {'status':<8} {'created':<20} {'indicators':<30} units")
    for s in rows:
        status = "revoked" if s.revoked_at else "active"
        created = s.created_at.strftime("%Y-%m-%d %H:%M") if s.created_at else ""
        indicators = ",".join(sorted(s.scope.indicators)) if s.scope.indicators is not None else "*"
        units = ",".join(sorted(s.scope.units)) if s.scope.units is not None else "*"
        print(f"{s.name:<24} {status:<8} {created:<20} {indicators:<30} {units}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    if _run(load_context(), lambda repo: repo.revoke(args.name)):
        print(f"source {args.name} revoked")
        return 0
    print(f"error: no active source named {args.name}")
    return 1
