"""`python -m bench.history`: the read side with years of history. The simulator's history from 2021-01-01 until now
(every commune of every hierarchy version, each indicator at its own cadence) goes through the bulk path
(bench/README.md, "History scale"), then every dashboard SQL query, the alerter's full evaluation, `dx status` and
`dx report` are timed against it, with the size of every table beside the times. Ends with ONE JSON line.

`--units-dir bench/data/national` runs the same on the synthetic national-size hierarchy."""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from bench.alerting import full_evaluation, history_messages
from bench.bulk import bulk_apply
from bench.isolate import isolated
from bench.machine import describe
from bench.phases import percentile
from bench.sizes import table_sizes
from services.dashboards import scorecard
from services.dashboards.build import build_all
from shared import names
from shared.domain.catalog import Catalog, load_catalog
from shared.domain.hierarchy import Hierarchy, load_hierarchy
from shared.settings import Settings
from testing.dashboards import Query, expand_sql, queries, time_range
from testing.processes import ROOT, settings_env

HISTORY_START = date(2021, 1, 1)
# the dashboards' other variables as a user opens them: the province, the 2030 milestone, every district and severity
VARIABLES = {"unit": names.PROVINCE_CODE, "milestone": "2030", "district": scorecard.ALL, "severity": "__all"}
FIVE_YEARS = timedelta(days=5 * 365)
TABLES = ("applied_events", "agg_buckets", "agg_snapshot_days", "period_values", "daily_values", "current_values",
          "agg_snapshot_floor", "period_floor", "target_status", "agg_unit_lineage",
          "agg_increment_sources", "agg_unit_tree")  # fmt: skip


@dataclass(frozen=True)
class HistoryOptions:
    start: date
    repeats: int
    full_evals: int
    cli_runs: int
    units_dir: str | None


def parse(argv: list[str]) -> HistoryOptions:
    p = argparse.ArgumentParser(prog="python -m bench.history", description=__doc__)
    p.add_argument("--start", type=date.fromisoformat, default=HISTORY_START, help="first simulated day")
    p.add_argument("--repeats", type=int, default=5, help="runs of every dashboard query per indicator and range")
    p.add_argument("--full-evals", type=int, default=5, help="runs of the alerter's full evaluation (median)")
    p.add_argument("--cli-runs", type=int, default=3, help="runs of dx status and dx report (median)")
    p.add_argument("--units-dir", help="hierarchy folder (default: the shipped one; bench/data/national: synthetic)")
    a = p.parse_args(argv)
    units_dir = str(Path(a.units_dir).resolve()) if a.units_dir else None
    return HistoryOptions(a.start, max(1, a.repeats), max(1, a.full_evals), max(1, a.cli_runs), units_dir)


async def run(opts: HistoryOptions) -> dict[str, Any]:
    base = Settings()
    if opts.units_dir:
        base = base.model_copy(update={"units_dir": Path(opts.units_dir)})
    catalog, hierarchy = load_catalog(base.catalog_path), load_hierarchy(base.units_dir)
    out: dict[str, Any] = {"machine": await describe(base), "history_start": opts.start.isoformat()}
    async with isolated(base, catalog, hierarchy) as iso:
        started = time.perf_counter()
        messages = history_messages(catalog, hierarchy, opts.start, datetime.now(UTC), received_when_observed=True)
        generated = time.perf_counter()
        progress(f"{len(messages):,} events generated in {generated - started:.1f} s; applying (bulk path)")
        horizon = timedelta(days=base.events_horizon_days)
        pruned, pruned_bytes = await bulk_apply(iso, catalog, hierarchy, messages, on_batch=Meter(len(messages)),
                                                prune_horizon=horizon)  # fmt: skip
        loaded = time.perf_counter()
        out["history_events"] = len(messages)
        out["pruned_events"], out["pruned_bytes"], out["horizon_days"] = pruned, pruned_bytes, base.events_horizon_days
        out["history_generate_s"] = round(generated - started, 1)
        out["history_load_s"] = round(loaded - generated, 1)
        out["history_load_events_per_s"] = round(len(messages) / (loaded - generated))
        progress(f"loaded in {out['history_load_s']} s; alerter full evaluation")
        seconds, targets = await full_evaluation(iso, catalog, hierarchy, opts.full_evals)
        out["alerter_full_eval_s"], out["targets"] = round(seconds, 3), targets
        out["alerter_full_eval_per_target_ms"] = round(1000 * seconds / max(1, targets), 4)
        progress("dashboard queries")
        out["panels"] = await panel_timings(iso, catalog, hierarchy, opts.repeats)
        out["dashboard_query_p95_s"] = max(p["p95_s"] for p in out["panels"])
        progress("dx status, dx report")
        out["dx_status_s"] = cli_seconds(iso, ["status"], opts.cli_runs)
        with tempfile.TemporaryDirectory() as folder:
            report = ["report", "--year", str(date.today().year - 1), "--out", folder]
            out["dx_report_s"] = cli_seconds(iso, report, opts.cli_runs)
        out["tables"] = await table_sizes(iso, TABLES)
        out["bytes_per_event"] = {
            t: round(s["bytes"] / max(1, out["history_events"]), 1) for t, s in out["tables"].items()
        }
    return out


async def panel_timings(
    settings: Settings, catalog: Catalog, hierarchy: Hierarchy, repeats: int
) -> list[dict[str, Any]]:
    """p50/p95 of every SQL query of every dashboard as Grafana's read-only role, for the province and each
    indicator, with the dashboard's default time range and with the last 5 years."""
    now = datetime.now(UTC)
    conn = await asyncpg.connect(settings.pg_dsn("grafana"))
    try:
        out = []
        for board in build_all().values():
            default = time_range(board, now)
            ranges = {"default": default, "last 5 years": (now - FIVE_YEARS, default[1])}
            for q in (q for q in queries(board) if q.kind == "sql"):
                for label, (start, end) in ranges.items():
                    samples = await _query_samples(conn, q, catalog, start, end, repeats)
                    out.append({"dashboard": q.dashboard, "query": q.where, "range": label, "runs": len(samples),
                                "p50_s": round(percentile(samples, 50), 4), "p95_s": round(percentile(samples, 95), 4),
                                "max_s": round(max(samples), 4)})  # fmt: skip
        return out
    finally:
        await conn.close()


async def _query_samples(
    conn: asyncpg.Connection, q: Query, catalog: Catalog, start: datetime, end: datetime, repeats: int
) -> list[float]:
    samples = []
    for _ in range(repeats):
        for indicator in catalog.codes():
            sql = expand_sql(q.text, {**VARIABLES, "indicator": indicator}, start, end)
            began = time.perf_counter()
            await conn.fetch(sql)
            samples.append(time.perf_counter() - began)
    return samples


def cli_seconds(settings: Settings, args: list[str], runs: int) -> float:
    """Median wall time of `python -m dx.main ARGS` against the sandbox (interpreter start-up included: what the
    operator waits for)."""
    import subprocess

    env = settings_env(settings)
    seconds = []
    for _ in range(runs):
        began = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "dx.main", *args], env=env, cwd=ROOT, capture_output=True)
        seconds.append(time.perf_counter() - began)
        if done.returncode != 0:
            raise RuntimeError(f"dx {' '.join(args)} exited {done.returncode}: {done.stderr.decode()[-2000:]}")
    return round(statistics.median(seconds), 3)


class Meter:
    """Progress of the bulk load on stderr, every 10 %."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.shown, self.started = total, 0, 0, time.perf_counter()

    def __call__(self, n: int) -> None:
        self.done += n
        if self.done * 10 // max(1, self.total) > self.shown or self.done == self.total:
            self.shown = self.done * 10 // max(1, self.total)
            progress(f"applied {self.done:,} of {self.total:,} in {time.perf_counter() - self.started:.0f} s")


def progress(text: str) -> None:
    print(f"# {text}", file=sys.stderr, flush=True)


def table(result: dict[str, Any]) -> str:
    lines = [f"{'dashboard / query':<90} {'range':<13} {'p50 ms':>8} {'p95 ms':>8}"]
    for p in result["panels"]:
        where = f"{p['dashboard']} / {p['query']}"[:90]
        lines.append(f"{where:<90} {p['range']:<13} {1000 * p['p50_s']:>8.1f} {1000 * p['p95_s']:>8.1f}")
    lines.append("")
    for name, s in result["tables"].items():
        lines.append(f"{name:<24} {s['rows']:>12,} rows {s['bytes'] / 1e6:>10.1f} MB")
    keys = ("history_events", "pruned_events", "pruned_bytes", "history_load_events_per_s", "targets",
            "alerter_full_eval_s", "dashboard_query_p95_s", "dx_status_s", "dx_report_s")  # fmt: skip
    lines += [""] + [f"{k:<28} {result[k]}" for k in keys]
    return "\n".join(lines)


def cli(argv: list[str] | None = None) -> int:
    result = asyncio.run(run(parse(sys.argv[1:] if argv is None else argv)))
    print(table(result))
    print(orjson.dumps(result).decode())
    return 0


if __name__ == "__main__":
    sys.exit(cli())
