"""`dx docs asyncapi [--check]`: regenerate docs/asyncapi.json from the message contracts (dx/asyncapi.py)."""

import argparse
from pathlib import Path

from dx import asyncapi


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    cmds = sub.add_parser("docs", help="generated documentation").add_subparsers(dest="docs_command", required=True)
    cmd = cmds.add_parser("asyncapi", help=f"write {asyncapi.OUTPUT.relative_to(asyncapi.ROOT)} from shared/contracts")
    cmd.add_argument("--check", action="store_true", help="write nothing; exit 1 if the file is not up to date")
    cmd.add_argument("--output", type=Path, default=asyncapi.OUTPUT, help="the AsyncAPI file")
    cmd.set_defaults(handler=_asyncapi)


def _asyncapi(args: argparse.Namespace) -> int:
    if args.check:
        if asyncapi.stale(args.output):
            print(f"{args.output} is out of date (run: dx docs asyncapi)")
            return 1
        print(f"{args.output} is up to date")
        return 0
    print(f"wrote {args.output}" if asyncapi.write(args.output) else f"{args.output} unchanged")
    return 0
