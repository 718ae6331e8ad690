"""`python -m bench.backfill [--rows N] [--format csv|xlsx]`: a generated backfill file (default 1,000,000 rows)
through `dx import` — the real command, its progress bar on stderr — into a collector and an aggregator started for
it, timed from the command's start until the last row is in PostgreSQL (applied_events). Ends with ONE JSON line.

The file: every commune-level indicator (not the yearly ones) for every commune in force, day after day from
2021-01-01, as an old system's daily export would hold them: increments as the day's totals (numerator/denominator),
ratio snapshots with their population, counts 0/1. Every row is distinct, so every row is one event."""

import argparse
import asyncio
import csv
import random
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from openpyxl import Workbook

from bench import stack
from bench.isolate import isolated
from dx.simulation import is_yearly
from shared.domain.catalog import Catalog, Measure, Semantics, load_catalog
from shared.domain.hierarchy import Hierarchy, load_hierarchy
from shared.settings import Settings
from testing.processes import ROOT, settings_env

GROUP = "bench-backfill"
FIRST_DAY = date(2021, 1, 1)
HEADER = ["indicator", "unit", "date", "numerator", "denominator", "value"]


def rows(catalog: Catalog, hierarchy: Hierarchy, count: int, seed: int = 3) -> Iterator[list[Any]]:
    """`count` distinct valid rows, day by day from 2021-01-01."""
    rng = random.Random(seed)
    indicators = [i for i in catalog.indicators if i.reported_at == "commune" and not is_yearly(i)]
    made, day = 0, FIRST_DAY
    while True:
        units = sorted(u.code for u in hierarchy.units_in_force(day, "commune"))
        for ind in indicators:
            for code in units:
                if made == count:
                    return
                made += 1
                if ind.semantics is Semantics.INCREMENT:
                    den = rng.randint(5, 60)
                    yield [ind.code, code, day.isoformat(), rng.randint(0, den), den, None]
                elif ind.measure is Measure.RATIO:
                    den = rng.randint(2_000, 40_000)
                    yield [ind.code, code, day.isoformat(), rng.randint(0, den), den, None]
                elif ind.measure is Measure.COUNT:
                    yield [ind.code, code, day.isoformat(), None, None, float(rng.random() < 0.5)]
                else:
                    yield [ind.code, code, day.isoformat(), None, None, round(rng.uniform(0, 100), 2)]
        day += timedelta(days=1)


def write_file(path: Path, catalog: Catalog, hierarchy: Hierarchy, count: int) -> Path:
    if path.suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            writer.writerows(["" if c is None else c for c in r] for r in rows(catalog, hierarchy, count))
    else:
        book = Workbook(write_only=True)
        sheet = book.create_sheet("backfill")
        sheet.append(HEADER)
        for r in rows(catalog, hierarchy, count):
            sheet.append(r)
        book.save(path)
    return path


async def applied(settings: Settings) -> int:
    conn = await asyncpg.connect(settings.pg_dsn("app"))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM applied_events"))
    finally:
        await conn.close()


async def backfill(settings: Settings, path: Path, count: int, timeout: float = 3600.0) -> dict[str, Any]:
    """Run `dx import path` against a collector and an aggregator of a fresh sandbox; rows/s until all are applied."""
    catalog, hierarchy = load_catalog(settings.catalog_path), load_hierarchy(settings.units_dir)
    async with isolated(settings, catalog, hierarchy) as iso:
        services = [stack.aggregator(iso, GROUP), stack.collector(iso)]
        try:
            for s in services:
                s.launch()
            for s in services:
                await asyncio.to_thread(s.wait_ready)
            command = [sys.executable, "-m", "dx.main", "import", str(path), "--batch", "1000",
                       "--collector-url", stack.collector_url(services[1])]  # fmt: skip
            started = time.perf_counter()
            env = settings_env(iso)
            importer = await asyncio.create_subprocess_exec(*command, env=env, cwd=ROOT, stdout=sys.stderr)
            sent_s = None  # when dx import had every row accepted by the collector (it exits then)
            while (done := await applied(iso)) < count:
                if importer.returncode not in (None, 0):
                    raise RuntimeError(f"dx import exited {importer.returncode}")
                if importer.returncode == 0 and sent_s is None:
                    sent_s = time.perf_counter() - started
                if time.perf_counter() - started > timeout:
                    raise TimeoutError(f"{done} of {count} rows applied after {timeout} s")
                await asyncio.sleep(0.2)
            seconds = time.perf_counter() - started
            imported = await importer.wait()
            return {"format": path.suffix[1:], "rows": count, "seconds": round(seconds, 1),
                    "dx_import_seconds": round(sent_s if sent_s is not None else seconds, 1),
                    "rows_per_s": round(count / seconds), "dx_import_exit": imported,
                    "rss_mb": {s.name: round(s.peak_rss_mb(), 1) for s in services}}  # fmt: skip
        finally:
            for s in services:
                s.stop()


async def measure(count: int, formats: list[str], root: Path = ROOT) -> dict[str, Any]:
    """Each format's backfill of `count` generated rows; `backfill_rows_per_s` is the slower format's."""
    settings = Settings()
    catalog, hierarchy = load_catalog(settings.catalog_path), load_hierarchy(settings.units_dir)
    folder = root / ".run" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    results = {}
    for fmt in formats:
        began = time.perf_counter()
        path = await asyncio.to_thread(write_file, folder / f"backfill-{count}.{fmt}", catalog, hierarchy, count)
        print(f"# {path} written in {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
        try:
            results[fmt] = await backfill(settings, path, count)
        finally:
            path.unlink()
    return {"backfill": results, "backfill_rows_per_s": min(r["rows_per_s"] for r in results.values())}


def cli(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.backfill", description=__doc__)
    p.add_argument("--rows", type=int, default=1_000_000, help="rows of the generated file (default 1,000,000)")
    p.add_argument("--format", choices=["csv", "xlsx"], action="append", help="file formats (default both)")
    a = p.parse_args(sys.argv[1:] if argv is None else argv)
    print(orjson.dumps(asyncio.run(measure(a.rows, a.format or ["csv", "xlsx"]))).decode())
    return 0


if __name__ == "__main__":
    sys.exit(cli())
