"""The `dx` command. Each module in `dx.commands` adds its sub-commands through `register()`."""

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Sequence

from dx import commands
from dx.errors import explain


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dx", description="dxmon: giám sát chuyển đổi số Thanh Hóa")
    sub = parser.add_subparsers(dest="command", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; an operational failure or bad input is one line on stderr and exit 2 (dx/errors.py)."""
    args = build_parser().parse_args(argv)
    quiet_libraries()
    try:
        code: int = args.handler(args)
    except Exception as err:
        line = explain(err)
        if line is None:
            raise
        print(f"dx {command_name(args)}: {line}", file=sys.stderr)
        return 2
    return code


def command_name(args: argparse.Namespace) -> str:
    """`db migrate`, `dlq list`, `status`: the words the operator typed."""
    subs = [str(v) for k, v in vars(args).items() if k.endswith("_command") and v]
    return " ".join([args.command, *subs])


def quiet_libraries() -> None:
    """The libraries' own log records (aiokafka logs every failed connection) would add lines to the one line
    `dx` prints; DX_LOG_LEVEL=DEBUG shows them again."""
    level = os.environ.get("DX_LOG_LEVEL", "").upper()
    if level == "DEBUG":
        logging.basicConfig(level=logging.DEBUG)
    else:
        logging.getLogger().addHandler(logging.NullHandler())


if __name__ == "__main__":
    sys.exit(main())
