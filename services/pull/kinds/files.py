"""Watched-folder sources: CSV/XLSX files in the import format (dx/importer.py: same columns, same row parser, same
event ids as `dx import`, so a file both imported by hand and dropped in the folder counts once).

Each file is identified by its SHA-256: one already processed (under any name) is not sent again. After its events
were acknowledged the file is recorded, its per-row error report (`<name>.errors.csv`: row, field, reason) written,
and the file moved to `done/` (something accepted, or nothing to send) or `failed/` (unreadable, or every row
rejected).
"""

import asyncio
import csv
import hashlib
import time
from pathlib import Path

import orjson

from dx.importer import ImportFileError, ImportReport, RowError, parse_file, read_rows, with_source
from services.pull.config import Connector
from services.pull.kinds.base import RunContext, SourceError
from services.pull.mapping import Mapped


class FilesSource:
    def __init__(self, connector: Connector) -> None:
        assert connector.spec.files is not None
        self.connector, self.spec = connector, connector.spec.files

    def pending(self) -> list[Path]:
        """The files to process now: a file modified within `settle_seconds` may still be being copied in (a
        half-written file would be sent in part and moved away under its writer), so it waits for the next run."""
        found = {p for pattern in self.spec.patterns for p in self.spec.folder.glob(pattern) if p.is_file()}
        settled = time.time() - self.spec.settle_seconds
        return sorted(p for p in found if p.stat().st_mtime <= settled)

    async def run(self, ctx: RunContext) -> None:
        if not self.spec.folder.is_dir():
            raise SourceError(f"{self.spec.folder}: folder not found")
        if not ctx.dry_run:
            self.spec.done_dir.mkdir(parents=True, exist_ok=True)
            self.spec.failed_dir.mkdir(parents=True, exist_ok=True)
        for path in await asyncio.to_thread(self.pending):
            await self.process(ctx, path)

    async def process(self, ctx: RunContext, path: Path) -> None:
        sha256 = await asyncio.to_thread(_sha256, path)
        seen = await ctx.file_seen(sha256)
        if seen is not None:
            note = RowError(0, "file", f"duplicate: the same content as {seen['file_name']}, processed "
                                      f"{seen['processed_at']:%Y-%m-%d %H:%M:%S %Z}; not sent again")  # fmt: skip
            ctx.tally.errors.append((path.name, note))
            if not ctx.dry_run:
                self._finish(path, self.spec.done_dir, [note])
            return
        try:
            valid, report = await asyncio.to_thread(parse_file, path, ctx.catalog, ctx.hierarchy, ctx.now)
        except ImportFileError as err:
            valid, report = [], ImportReport(errors=[RowError(0, "file", f"unreadable_file: {err}")])
        ctx.tally.fetched += report.rows
        valid = [with_source(r, ctx.connector.spec.source.name) for r in valid]  # the ids `dx import` sends
        items = [Mapped(r.row, orjson.dumps(r.event), r.event, []) for r in valid]
        items += await asyncio.to_thread(self._local_rejections, path, report)
        rejected = await ctx.deliver(items, path.name)
        whole = [e for e in report.errors if e.row == 0]  # the file as a whole (unreadable, columns missing)
        ctx.tally.errors += [(path.name, e) for e in whole]
        ctx.tally.rejected += len(whole)
        errors = sorted(whole + [e for m in rejected for e in m.errors], key=lambda e: e.row)
        valid_rows = {r.row for r in valid}
        accepted = len(valid) - sum(1 for m in rejected if m.number in valid_rows)
        outcome = "done" if accepted or not errors else "failed"
        counts = (report.rows, accepted, len({e.row for e in errors}))
        if ctx.dry_run:
            return
        target = self.spec.done_dir if outcome == "done" else self.spec.failed_dir
        self._report(target / f"{path.name}.errors.csv", errors)
        await ctx.file_done(sha256, path, outcome, counts)
        _move(path, target)

    @staticmethod
    def _local_rejections(path: Path, report: ImportReport) -> list[Mapped]:
        """The rows the import parser refused, with their original cells (for the dead letters)."""
        by_row: dict[int, list[RowError]] = {}
        for error in report.errors:
            if error.row > 0:
                by_row.setdefault(error.row, []).append(error)
        if not by_row:
            return []
        originals = {n: row for n, row in read_rows(path) if n in by_row}
        return [Mapped(n, orjson.dumps(originals.get(n), default=str), None, e) for n, e in sorted(by_row.items())]

    def _finish(self, path: Path, target: Path, errors: list[RowError]) -> None:
        self._report(target / f"{path.name}.errors.csv", errors)
        _move(path, target)

    @staticmethod
    def _report(path: Path, errors: list[RowError]) -> None:
        if not errors:
            return
        with _free(path).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["row", "field", "reason"])
            writer.writerows((e.row, e.field, e.reason) for e in errors)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _move(path: Path, folder: Path) -> None:
    path.replace(_free(folder / path.name))


def _free(path: Path) -> Path:
    """`path`, or `name.1.ext`, `name.2.ext` … if a file of that name is there already."""
    candidate, n = path, 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}.{n}{path.suffix}")
    return candidate
