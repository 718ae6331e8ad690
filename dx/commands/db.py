"""`dx db migrate`: apply the schema and refresh the reference data."""

import argparse
import asyncio

from dx.context import load_context
from shared.adapters.migrate import migrate


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    cmd = db.add_parser("migrate", help="apply migrations (safe twice, safe concurrently)")
    cmd.set_defaults(handler=_migrate)


def _migrate(args: argparse.Namespace) -> int:
    ctx = load_context()
    applied = asyncio.run(migrate(ctx.settings, ctx.catalog, ctx.hierarchy))
    print(f"applied: {', '.join(applied)}" if applied else "schema is up to date")
    return 0
