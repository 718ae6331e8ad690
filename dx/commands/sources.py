"""`dx sources add|list|revoke`: source credentials for the collector. `add` prints the token once."""

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiokafka.errors import KafkaError
from rich.console import Console
from rich.table import Table

from dx.context import Context, load_context
from dx.render import safe
from dx.sources import SourceAdmin, ensure_source_topic, source_admin
from services.collector.sources import Source
from shared.adapters.kafka import TopicsError
from shared.contracts.topics import source_topic
from shared.domain.timeutil import local_date
from shared.domain.unitref import UnitRefError, canonical, parse_ref, stored_node

T = TypeVar("T")


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    sources = sub.add_parser("sources", help="source credentials").add_subparsers(dest="sources_command", required=True)
    add = sources.add_parser("add", help="create a source (or re-issue a revoked one) and print its token once")
    add.add_argument("name")
    add.add_argument("--indicators", help="comma-separated indicator codes it may write (default: all)")
    add.add_argument(
        "--units",
        help="comma-separated units it may write, each with everything under it: CODE is the unit in force today, "
        "CODE@YYYY-MM-DD the unit with that code in force on that date (codes were reused by other units)",
    )
    add.add_argument(
        "--kafka",
        action="store_true",
        help="the source speaks Kafka: create its own ingest topic and print its principal, ACLs and topic",
    )
    add.set_defaults(handler=_add)
    listing = sources.add_parser("list", help="sources and their scopes (no secrets)")
    listing.add_argument("--json", action="store_true", help="machine-readable list of objects")
    listing.set_defaults(handler=_list)
    revoke = sources.add_parser("revoke", help="revoke a source's token (effective within the collector's cache TTL)")
    revoke.add_argument("name")
    revoke.set_defaults(handler=_revoke)


def _codes(text: str | None) -> list[str] | None:
    return None if text is None else sorted({c.strip() for c in text.split(",") if c.strip()})


def _unknown(ctx: Context, indicators: list[str] | None) -> list[str]:
    return [f"unknown indicator {c}" for c in indicators or [] if ctx.catalog.get(c) is None]


def _units(ctx: Context, refs: list[str] | None) -> tuple[list[str] | None, list[str]]:
    """The named units as stored (`CODE@<first day of its version>`), and the problems of the others."""
    if refs is None:
        return None, []
    today, units, problems = local_date(datetime.now(UTC)), set(), []
    for ref in refs:
        try:
            units.add(canonical(parse_ref(ref, ctx.hierarchy, today)))
        except UnitRefError as err:
            problems.append(str(err))
    return sorted(units), problems


def _run(ctx: Context, work: Callable[[SourceAdmin], Awaitable[T]]) -> T:
    async def go() -> T:
        async with source_admin(ctx.settings) as admin:
            return await work(admin)

    return asyncio.run(go())


def _add(args: argparse.Namespace) -> int:
    ctx = load_context()
    indicators = _codes(args.indicators)
    units, bad_units = _units(ctx, _codes(args.units))
    problems = _unknown(ctx, indicators) + bad_units
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
    if args.kafka:
        try:
            topic = asyncio.run(ensure_source_topic(ctx.settings, args.name))
        except (KafkaError, TopicsError) as err:
            print(f"error: the source exists but its topic {source_topic(ctx.settings.topic_ingest, args.name)} "
                  f"could not be created: {err}; run the command again once Kafka answers")  # fmt: skip
            return 1
        print(kafka_instructions(args.name, topic))
    return 0


def kafka_instructions(name: str, topic: str) -> str:
    """What a Kafka-speaking source system and the Kafka operator need (docs/events-and-topics.md)."""
    principal = f"dx-src-{name}"
    return f"""Kafka: the source system writes one JSON event per message to topic {topic}
(created), authenticated as SASL/SCRAM-SHA-512 principal User:{principal}; the source is the topic's (a dx-source
header, if sent, must be {name!r}). Anything it writes elsewhere is refused by Kafka; a message on the bare ingest
topic is dead-lettered 'unauthenticated'. The Kafka operator, once, with the admin client settings:
  kafka-configs.sh --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" --alter \\
    --add-config 'SCRAM-SHA-512=[password=<a new secret>]' --entity-type users --entity-name {principal}
  BOOTSTRAP=... ADMIN_CONFIG=... deploy/kafka/sasl/source-acls.sh {name}
and hands the source system: bootstrap servers, security.protocol=SASL_SSL, sasl.mechanism=SCRAM-SHA-512,
username {principal}, that password, the CA certificate, topic {topic}.
On the single-node dev stack (PLAINTEXT, no authorizer) Kafka authenticates nobody: anyone who reaches the broker
can write any source's topic, so the topic name alone is trusted there."""


def _unit_label(entry: str, ctx: Context) -> str:
    """A stored scope entry with the unit it names, e.g. `14758@2025-07-01 Phường Hàm Rồng`."""
    node = stored_node(entry, ctx.hierarchy)
    if node is None:
        return f"{entry} (names no unit: allows nothing)"
    return f"{entry} {ctx.hierarchy.version_of(node).units[node[0]].full_name}"


def _list(args: argparse.Namespace) -> int:
    ctx = load_context()
    rows = _run(ctx, lambda repo: repo.all())
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
        units = "\n".join(_unit_label(u, ctx) for u in sorted(s.scope.units)) if s.scope.units is not None else "*"
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
