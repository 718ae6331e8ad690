"""The `dx` command. Each module in `dx.commands` adds its sub-commands through `register()`."""

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

import asyncpg

from dx import commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dx", description="dxmon: giám sát chuyển đổi số Thanh Hóa")
    sub = parser.add_subparsers(dest="command", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except asyncpg.UndefinedTableError as err:
        print(f"dx: the database schema is missing ({err}): run `dx db migrate` (or `make up`)", file=sys.stderr)
        return 2
    except (ConnectionError, asyncpg.CannotConnectNowError) as err:
        print(f"dx: cannot reach a service ({err}): is the stack up? (`make status`)", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
