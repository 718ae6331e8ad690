"""The `dx import FILE` job: read a backfill file (CSV or XLSX) into events with a per-row error report, then send
the valid rows through the collector's HTTP API in batches, mapping its per-item rejections back to their rows.

Columns (header row, any order, case-insensitive; other columns are ignored):
  indicator    catalog code, e.g. overall.dti_rank
  unit         unit code in force at the date, e.g. 38 (province), 380 (district), 14755 (commune)
  date         YYYY-MM-DD (read as 00:00 Asia/Ho_Chi_Minh that day) or an RFC 3339 timestamp with offset
  numerator, denominator   whole numbers, for ratio indicators
  value        a number, for value, count and rank indicators
  period       optional reference period the value describes: YYYY, YYYY-Qn or YYYY-MM
  event_id     optional UUID; default: uuid5 over the source's name and indicator|unit|date (|period when given),
               so a re-import sends the same ids and no other source can predict them
Rows are numbered as in a spreadsheet: the header is row 1. A row whose figures differ from what its event (or the
last correction of it) holds in the database is sent as a correction of it (dx/import_changes.py); the same figures
are sent again under the same id and count once.
"""

import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from pydantic import ValidationError

from dx.client import CollectorClient
from dx.csvfile import CsvError, csv_cells
from dx.import_changes import changes, source_of_token
from dx.sending import batches
from dx.tokens import run_token
from shared.contracts.events import EventV1, reasons
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.domain.timeutil import LOCAL_TZ, local_date
from shared.domain.unitref import canonical
from shared.domain.validation import check_event
from shared.settings import Settings

COLUMNS = ("indicator", "unit", "date", "numerator", "denominator", "value", "period", "event_id")
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
    derived_id: bool = False  # the event_id is the row's, not the file's: it is derived again with the source


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
    """The first sheet's rows. A file that is no workbook, or whose XML is hostile (entity expansion beyond expat's
    amplification limit, a "billion laughs"), is one ImportFileError, not a traceback."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, ValueError) as err:
        raise ImportFileError(f"{path.name}: not a readable XLSX workbook: {err}") from None
    try:
        for values in workbook.active.iter_rows(values_only=True):
            yield list(values)
    except (ElementTree.ParseError, zipfile.BadZipFile, KeyError) as err:
        raise ImportFileError(f"{path.name}: the sheet cannot be read: {err}") from None
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


def event_id(indicator: str, unit: str, moment: datetime, source: str = "", period: str | None = None) -> str:
    """Deterministic id of a row's observation for one source: the same row imported twice is the same event, and
    its figures may change (then it is corrected, dx/import_changes.py). The period joins the name only when given
    (rows without one keep their ids); the same date for two periods is two observations."""
    stamp = moment.astimezone(UTC).isoformat()
    name = f"{source}|{indicator}|{unit}|{stamp}" + (f"|{period}" if period else "")
    return str(uuid.uuid5(NAMESPACE, name))


def with_source(row: ParsedRow, source: str) -> ParsedRow:
    """The row with its derived event_id keyed by the source that sends it."""
    if not row.derived_id:
        return row
    moment = datetime.fromisoformat(row.event["observed_at"])
    ident = event_id(row.event["indicator"], row.event["unit"], moment, source, row.event.get("period"))
    return ParsedRow(row.row, {**row.event, "event_id": ident}, True)


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
    if cells.get("period") is not None:
        event["period"] = _code(cells["period"])  # a year typed as a number comes back as 2024 or 2024.0
    derived = not cells.get("event_id")
    event["event_id"] = (
        event_id(indicator, unit, moment, period=event.get("period")) if derived else str(cells["event_id"])
    )
    try:
        problems = check_event(EventV1.model_validate(event, context={"now": now}), catalog, hierarchy)
    except ValidationError as err:
        problems = reasons(err)
    if problems:
        return [error_for_row(number, p) for p in problems]
    return ParsedRow(number, event, derived)


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
    corrections: int = 0  # rows whose figures changed since the last import: sent as corrections
    errors: list[RowError] = field(default_factory=list)
    # rows sent as new events although events received before `pruned_before` are no longer kept (docs/storage.md):
    # if an earlier import sent them before that day, they count again
    unknown_since_pruned: int = 0
    pruned_before: date | None = None

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
    seen: dict[str, ParsedRow] = {}
    for number, row in read_rows(path):
        report.rows += 1
        parsed = parse_row(number, row, catalog, hierarchy, now)
        if isinstance(parsed, list):
            report.errors.extend(parsed)
        elif (earlier := seen.get(parsed.event["event_id"])) is not None:
            if earlier.event == parsed.event:
                report.duplicates += 1
            else:
                clash = f"conflicting_rows: row {earlier.row} is the same event (indicator, unit, date or event_id)"
                report.errors.append(RowError(number, "event", f"{clash} with other figures"))
        else:
            seen[parsed.event["event_id"]] = parsed
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


async def as_corrections(
    settings: Settings, source: str, rows: list[ParsedRow], report: ImportReport
) -> list[ParsedRow]:
    """The rows to send: a row whose figures changed since its last import becomes a correction; a row whose event
    was retracted is reported."""
    out = []
    decisions, report.pruned_before = await changes(settings, source, [r.event for r in rows])
    for row, decided in zip(rows, decisions, strict=True):
        if isinstance(decided, str):
            report.errors.append(error_for_row(row.row, decided))
            continue
        if "corrects" in decided:
            report.corrections += 1
        elif report.pruned_before is not None and decided.get("unseen"):
            report.unknown_since_pruned += 1
        out.append(ParsedRow(row.row, {k: v for k, v in decided.items() if k != "unseen"}, row.derived_id))
    report.errors.sort(key=lambda e: e.row)
    return out


def scope_units(rows: list[ParsedRow], hierarchy: Hierarchy) -> list[str]:
    """The scope entries of a run's own source: each row's unit as in force on its date (`CODE@first day of its
    version`, shared/domain/unitref.py), so a reused code's history is the unit the row meant, not today's."""
    entries = set()
    for r in rows:
        node = hierarchy.node_at(str(r.event["unit"]), local_date(datetime.fromisoformat(r.event["observed_at"])))
        entries.add(canonical(node) if node is not None else str(r.event["unit"]))
    return sorted(entries)


async def import_rows(
    settings: Settings,
    collector_url: str,
    token: str | None,
    rows: list[ParsedRow],
    report: ImportReport,
    hierarchy: Hierarchy,
    batch: int = 500,
    on_batch: Callable[[int], None] | None = None,
) -> str | None:
    """Send `rows` with `token` (default: a source 'importer' for this run only, scoped to the rows' indicators and
    units, revoked at the end: dx/tokens.py); returns the name of the source created."""
    if not rows:
        return None
    indicators = {str(r.event["indicator"]) for r in rows}
    units = scope_units(rows, hierarchy)
    async with run_token(settings, token, "importer", list(indicators), units) as run:
        source = run.created or await source_of_token(settings, run.token)
        if source is not None:  # an unknown token: the collector answers 401
            rows = await as_corrections(settings, source, [with_source(r, source) for r in rows], report)
        if rows:
            await _send(collector_url, run.token, rows, report, batch, on_batch)
    return run.created


async def _send(
    url: str,
    token: str,
    rows: list[ParsedRow],
    report: ImportReport,
    batch: int,
    on_batch: Callable[[int], None] | None,
) -> None:
    async with CollectorClient(url, token) as client:
        await send_rows(client, rows, report, batch, on_batch)
