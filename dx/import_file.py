"""`dx import FILE`: valid rows go through the collector's HTTP API in batches; every bad row is reported."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from dx.client import CollectorClient
from dx.importer import ParsedRow, RowError, error_for_row, parse_row, read_rows
from dx.sending import batches
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy


@dataclass
class ImportReport:
    rows: int = 0
    accepted: int = 0
    duplicates: int = 0  # rows repeating an earlier row's event (sent once)
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected_rows(self) -> int:
        return len({e.row for e in self.errors})


def parse_file(
    path: Path, catalog: Catalog, hierarchy: Hierarchy, now: datetime | None = None
) -> tuple[list[ParsedRow], ImportReport]:
    """The valid rows (one per distinct event_id) and a report holding every local error."""
    now = now or datetime.now(UTC)
    report = ImportReport()
    valid: list[ParsedRow] = []
    seen: dict[str, int] = {}
    for number, row in read_rows(path):
        report.rows += 1
        parsed = parse_row(number, row, catalog, hierarchy, now)
        if isinstance(parsed, list):
            report.errors.extend(parsed)
        elif parsed.event["event_id"] in seen:
            report.duplicates += 1
        else:
            seen[parsed.event["event_id"]] = number
            valid.append(parsed)
    return valid, report


async def send_rows(
    client: CollectorClient,
    rows: list[ParsedRow],
    report: ImportReport,
    batch: int = 500,
    on_batch: Callable[[int], None] | None = None,
) -> None:
    """Post the valid rows; the API's per-item rejections are mapped back to their rows."""
    for chunk in batches(rows, min(batch, 1000)):
        result = await client.post([r.event for r in chunk])
        report.accepted += result.accepted
        for item in result.rejected:
            number = chunk[int(item["index"])].row
            report.errors.extend(error_for_row(number, e) for e in item.get("errors") or ["rejected: event: -"])
        if on_batch is not None:
            on_batch(len(chunk))
    report.errors.sort(key=lambda e: e.row)
