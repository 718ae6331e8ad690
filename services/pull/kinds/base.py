"""The one interface every connector kind implements, and what a run offers it.

A kind fetches, maps and hands its records to `RunContext.deliver`, which returns only once the collector answered
202/422 (the accepted events are in Kafka) and the rejected records are dead-lettered; only then does the kind
move its cursor (`save_cursor`) or record a file (`file_done`). A crash anywhere before leaves the cursor where it
was: the next run fetches the same records again, and their deterministic event ids make them duplicates.
"""

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import asyncpg

from dx.importer import RowError
from services.pull.config import Connector
from services.pull.mapping import Mapped, map_record
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy

Cursor = dict[str, Any]


class SourceError(RuntimeError):
    """The source system failed (HTTP error status, timeout, unreachable database): the run fails and backs off."""


@dataclass
class Tally:
    fetched: int = 0
    accepted: int = 0
    rejected: int = 0
    errors: list[tuple[str, RowError]] = field(default_factory=list)  # (where: file name or connector, error)
    preview: list[dict[str, Any]] = field(default_factory=list)  # dry runs: the events that would be sent

    def counts(self) -> tuple[int, int, int]:
        return self.fetched, self.accepted, self.rejected


class RunContext(Protocol):
    connector: Connector
    catalog: Catalog
    hierarchy: Hierarchy
    now: datetime
    cursor: Cursor
    tally: Tally
    dry_run: bool

    async def deliver(self, items: list[Mapped], where: str) -> list[Mapped]:
        """Send the items' events; returns every item not accepted (its errors set), already dead-lettered."""

    async def save_cursor(self, cursor: Cursor) -> None: ...

    async def file_seen(self, sha256: str) -> asyncpg.Record | None: ...

    async def file_done(self, sha256: str, path: Path, outcome: str, counts: tuple[int, int, int]) -> None: ...


class Kind(Protocol):
    async def run(self, ctx: RunContext) -> None: ...


async def deliver_records(ctx: RunContext, records: list[Any], where: str, cursor: Cursor) -> None:
    """The common end of a run that fetched records: map each (numbered from 1), deliver, then keep `cursor`."""
    mapping = ctx.connector.spec.mapping
    assert mapping is not None
    ctx.tally.fetched += len(records)
    mapped = [
        map_record(ctx.connector.name, mapping, n, r, ctx.catalog, ctx.hierarchy, ctx.now)
        for n, r in enumerate(records, start=1)
    ]
    await ctx.deliver(mapped, where)
    await ctx.save_cursor(cursor)
