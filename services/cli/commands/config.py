"""`dx config [--markdown]`: every setting (environment variable), its default and what it is for."""

import argparse

from pydantic_settings import BaseSettings

from services.aggregator.settings import AggregatorSettings
from services.alerter.settings import AlerterSettings
from services.collector.settings import CollectorSettings
from shared.settings import Settings

SECTIONS: list[tuple[str, type[BaseSettings]]] = [
    ("all services", Settings),
    ("collector", CollectorSettings),
    ("aggregator", AggregatorSettings),
    ("alerter", AlerterSettings),
]


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    cmd = sub.add_parser("config", help="list every setting with its default")
    cmd.add_argument("--markdown", action="store_true", help="as the README's configuration table")
    cmd.set_defaults(handler=_show)


def rows() -> list[tuple[str, str, str, str]]:
    """(section, variable, default, description) for every setting, shared ones first."""
    out: list[tuple[str, str, str, str]] = []
    for section, cls in SECTIONS:
        inherited = set(Settings.model_fields) if cls is not Settings else set()
        for name, field in cls.model_fields.items():
            if name in inherited:
                continue
            default = "" if field.default is None else str(field.default)
            out.append((section, f"DX_{name.upper()}", default, field.description or ""))
    return out


def markdown_table() -> str:
    lines = ["| variable | default | used by | meaning |", "|---|---|---|---|"]
    lines += [f"| `{var}` | `{default}` | {section} | {desc} |" for section, var, default, desc in rows()]
    return "\n".join(lines) + "\n"


def _show(args: argparse.Namespace) -> int:
    if args.markdown:
        print(markdown_table(), end="")
    else:
        for section, var, default, desc in rows():
            print(f"{var:<42} {default:<28} {section:<12} {desc}")
    return 0
