"""`python -m bench.run [--quick]`: every figure of bench/README.md, each the median of several runs made in this one
invocation, printed as a table and then as ONE JSON line (the last line of the output).

Needs Kafka and PostgreSQL up (`make bench` starts them); starts the services itself, as real processes, on a
throw-away database and topics per measurement."""

import argparse
import asyncio
import sys
import time
from typing import Any

import orjson

from bench.machine import ROOT, describe
from bench.phases import ChainResult, Options, chain_phase, throughput_run
from bench.report import figures, table
from bench.scale import scale_keys, scale_phase
from bench.workload import AMENDMENT_SHARE
from shared.domain.catalog import load_catalog
from shared.domain.hierarchy import load_hierarchy
from shared.settings import Settings

CHAIN_ONLY = False
SCALE: dict[str, Any] = {"run_history": False, "run_national": False, "backfill_rows": 0}


def parse(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    p.add_argument("--quick", action="store_true", help="smaller volumes and shorter segments (about 2 minutes)")
    p.add_argument("--runs", type=int, default=3, help="runs per figure (the median is reported); at least 3")
    p.add_argument("--events", type=int, help="events per aggregator / producer run (default 200,000; quick 120,000)")
    p.add_argument("--collector-events", type=int, help="events POSTed per collector run (default 150,000)")
    p.add_argument("--naive-events", type=int, help="events per naive run (default 6,000; quick 2,000)")
    p.add_argument("--concurrency", type=int, default=4, help="HTTP connections of the collector load (default 4)")
    p.add_argument("--no-scale-out", action="store_true", help="skip the two-aggregator measurement")
    p.add_argument("--scale-out-events", type=int, help="events of the two-aggregator run (default 2 x --events)")
    p.add_argument("--chain-only", action="store_true", help="only the end-to-end / alerter phase (no JSON summary)")
    p.add_argument("--history", action="store_true", help="also the history phase, 2021-01-01 until now")
    p.add_argument("--national", action="store_true", help="also the history phase on the synthetic national hierarchy")
    p.add_argument("--backfill-rows", type=int, default=0, help="also dx import of generated CSV and XLSX of N rows")
    share = f"share of the aggregator's events that correct or retract an earlier one (default {AMENDMENT_SHARE})"
    p.add_argument("--amendments", type=float, default=AMENDMENT_SHARE, help=share)
    p.add_argument("--e2e-seconds", type=float, help="seconds per end-to-end segment (default 20; quick 6)")
    a = p.parse_args(argv)
    global CHAIN_ONLY, SCALE
    CHAIN_ONLY = a.chain_only
    SCALE = {"run_history": a.history, "run_national": a.national, "backfill_rows": a.backfill_rows}
    quick = a.quick
    events = a.events or (120_000 if quick else 200_000)  # a dozen batches at least: start-up stays small
    return Options(
        runs=max(3, a.runs),
        events=events,
        collector_events=a.collector_events or (30_000 if quick else 150_000),
        naive_events=a.naive_events or (2_000 if quick else 6_000),
        concurrency=a.concurrency,
        per_request=500,
        scale_out=not a.no_scale_out,
        scale_out_events=a.scale_out_events or 2 * events,
        e2e_rate=2_000,
        e2e_seconds=a.e2e_seconds or (6.0 if quick else 20.0),
        e2e_per_request=100,
        full_evals=5,
        amendments=a.amendments,
    )


async def main(opts: Options) -> dict[str, Any]:
    settings = Settings()
    catalog, hierarchy = load_catalog(settings.catalog_path), load_hierarchy(settings.units_dir)
    machine = await describe(settings)
    runs = []
    started = time.monotonic()
    for i in range(0 if CHAIN_ONLY else opts.runs):
        runs.append(await throughput_run(opts, settings, catalog, hierarchy, seed=i + 1))
        progress(f"throughput run {i + 1}/{opts.runs}", runs[-1])
    chain: ChainResult = await chain_phase(opts, settings, catalog, hierarchy)
    progress("chain", {"segments": chain.segments, "full_eval_s": chain.full_eval_s, "rss_mb": chain.rss_mb})
    if CHAIN_ONLY:
        return {}
    result = figures(opts, runs, chain)
    scale = await scale_phase(**SCALE, repeats=3, root=ROOT)
    result.update(scale_keys(scale, result["aggregator_events_per_s"]))
    result["scale"] = scale
    result["machine"] = machine
    result["bench_seconds"] = round(time.monotonic() - started, 1)
    return result


def progress(label: str, data: dict[str, Any]) -> None:
    def plain(v: Any) -> Any:
        return getattr(v, "__dict__", v)

    print(f"# {label}: {orjson.dumps(data, default=plain).decode()}", file=sys.stderr, flush=True)


def cli(argv: list[str] | None = None) -> int:
    opts = parse(sys.argv[1:] if argv is None else argv)
    result = asyncio.run(main(opts))
    if not result:
        return 0
    print(table(result))
    print(orjson.dumps(result).decode())
    return 0


if __name__ == "__main__":
    sys.exit(cli())
