"""The `dx import FILE` job: read a backfill file (CSV or XLSX) into events with a per-row error report, then send
the valid rows through the collector's HTTP API in batches, mapping its per-item rejections back to their rows.

Columns (header row, any order, case-insensitive; other columns are ignored):
  indicator    catalog code, e.g. overall.dti_rank
  unit         unit code in force at the date, e.g. 38 (province), 380 (district), 14755 (commune)
  date         YYYY-MM-DD (read as 00:00 Asia/Ho_Chi_Minh that day) or an RFC 3339 timestamp with offset
  numerator, denominator   whole numbers, for ratio indicators
  value        a number, for value, count and rank indicators
  event_id     optional UUID; default: uuid5 over indicator|unit|date|numbers, so a re-import sends the same ids
Rows are numbered as in a spreadsheet: the header is row 1.
"""

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dx.client import CollectorClient
from dx.csvfile import CsvError, csv_cells
from dx.sending import batches
from dx.tokens import obtain_token
from shared.contracts.events import EventV1, reasons
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.domain.timeutil import LOCAL_TZ
from shared.domain.validation import check_event
from shared.settings import Settings

COLUMNS = ("indicator", "unit", "date", "numerator", "denominator", "value", "event_id")
REQUIRED = ("indicator", "unit", "date")
NAMESPACE = uuid.UUID("0b0e9f6c-3d55-4c1e-8f5e-7d2a4f1c9a20")
Event = dict[str, Any]


class ImportFileError(ValueError):
    """The file as a whole cannot be read (format, missing columns)."""


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    reason: str


@dataclass(frozen=True)
class ParsedRow:
    row: int
    event: Event


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, {column: cell}) for each non-empty data row of a .csv or .xlsx file."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield from _rows(_csv_cells(path))
    elif suffix in (".xlsx", ".xlsm"):
        yield from _rows(_xlsx_cells(path))
    elif suffix == ".xls":
        raise ImportFileError(
            f"{path.name}: .xls (Excel 97-2003) cannot be read: save it as .xlsx or 'CSV UTF-8' in Excel, "
            f"or run `libreoffice --headless --convert-to xlsx {path.name}`"
        )
    else:
        raise ImportFileError(f"{path.name}: unsupported file type {suffix!r}: use .csv or .xlsx")


def _csv_cells(path: Path) -> Iterator[list[Any]]:
    try:
        yield from csv_cells(path.read_bytes(), path.name, COLUMNS)
    except CsvError as err:
        raise ImportFileError(str(err)) from err


def _xlsx_cells(path: Path) -> Iterator[list[Any]]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        for values in workbook.active.iter_rows(values_only=True):
            yield list(values)
    finally:
        workbook.close()


def _rows(cells: Iterator[list[Any]]) -> Iterator[tuple[int, dict[str, Any]]]:
    header = next(cells, None)
    if header is None:
        raise ImportFileError("the file is empty: expected a header row")
    names = [str(h or "").strip().lower() for h in header]
    missing = [c for c in REQUIRED if c not in names]
    if missing or not ({"value", "numerator"} & set(names)):
        need = ", ".join(missing or ["value or numerator/denominator"])
        raise ImportFileError(f"missing column(s): {need}; expected {', '.join(COLUMNS)}")
    for number, values in enumerate(cells, start=2):
        row = {n: v for n, v in zip(names, values, strict=False) if n in COLUMNS}
        if any(_blank(v) is not None for v in row.values()):
            yield number, row


def _blank(cell: Any) -> Any:
    """None for empty cells, stripped text otherwise."""
    if cell is None:
        return None
    if isinstance(cell, str):
        return cell.strip() or None
    return cell


def observed_at(cell: Any) -> datetime:
    """A date → 00:00 local that day; a timestamp → itself (naive spreadsheet times are local)."""
    if isinstance(cell, datetime):
        return cell if cell.tzinfo else cell.replace(tzinfo=LOCAL_TZ)
    if isinstance(cell, date):
        return datetime.combine(cell, time(), LOCAL_TZ)
    text = str(cell).strip()
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time(), LOCAL_TZ)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("a timestamp needs an offset, e.g. 2024-12-31T00:00:00+07:00")
    return moment


def _integer(cell: Any) -> int:
    number = float(cell) if isinstance(cell, str) else cell
    if isinstance(number, bool) or not isinstance(number, int | float) or not float(number).is_integer():
        raise ValueError(f"{cell!r} is not a whole number")
    return int(number)


def _number(cell: Any) -> float:
    if isinstance(cell, bool):
        raise ValueError(f"{cell!r} is not a number")
    return float(cell)


def event_id(indicator: str, unit: str, moment: datetime, numerator: Any, denominator: Any, value: Any) -> str:
    """Deterministic id of a row's observation: the same row imported twice is the same event."""
    stamp = moment.astimezone(UTC).isoformat()
    return str(uuid.uuid5(NAMESPACE, f"{indicator}|{unit}|{stamp}|{numerator}|{denominator}|{value}"))


def parse_row(
    number: int, row: dict[str, Any], catalog: Catalog, hierarchy: Hierarchy, now: datetime
) -> ParsedRow | list[RowError]:
    """The event of one row, or every error found in it (row, field, reason)."""
    cells = {k: _blank(v) for k, v in row.items()}
    errors: list[RowError] = []
    fields: dict[str, Any] = {}
    for name in REQUIRED:
        if cells.get(name) is None:
            errors.append(RowError(number, name, "missing_field: required"))
    converters = {"date": observed_at, "numerator": _integer, "denominator": _integer, "value": _number}
    for name, convert in converters.items():
        if cells.get(name) is not None:
            try:
                fields[name] = convert(cells[name])
            except (ValueError, TypeError, OverflowError) as err:
                errors.append(RowError(number, name, f"invalid_field: {err}"))
    if errors:
        return errors
    moment = fields.pop("date")
    indicator, unit = str(cells["indicator"]), _code(cells["unit"])
    event: Event = {"indicator": indicator, "unit": unit, "observed_at": moment.isoformat(), **fields}
    event["event_id"] = str(cells["event_id"]) if cells.get("event_id") else event_id(
        indicator, unit, moment, fields.get("numerator"), fields.get("denominator"), fields.get("value")
    )  # fmt: skip
    try:
        problems = check_event(EventV1.model_validate(event, context={"now": now}), catalog, hierarchy)
    except ValidationError as err:
        problems = reasons(err)
    if problems:
        return [error_for_row(number, p) for p in problems]
    return ParsedRow(number, event)


def _code(cell: Any) -> str:
    """Unit codes typed as numbers in a spreadsheet come back as 38 or 38.0."""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


def error_for_row(number: int, error: str) -> RowError:
    """A `reason: field: message` string (local validation or the API's) as a row error."""
    parts = [p.strip() for p in error.split(":", 2)]
    if len(parts) < 3:
        return RowError(number, "event", error)
    return RowError(number, parts[1], f"{parts[0]}: {parts[2]}")


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


async def import_rows(
    settings: Settings,
    collector_url: str,
    token: str | None,
    rows: list[ParsedRow],
    report: ImportReport,
    batch: int = 500,
    on_batch: Callable[[int], None] | None = None,
) -> str | None:
    """Send `rows` with `token` (default: a new source 'importer'); returns the name of the source created."""
    if not rows:
        return None
    created, token = await obtain_token(settings, token, "importer")
    async with CollectorClient(collector_url, token) as client:
        await send_rows(client, rows, report, batch, on_batch)
    return created
