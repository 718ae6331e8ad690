"""Medians, ratios and targets from the runs; the table printed before the JSON line."""

import dataclasses
import statistics
from typing import Any

from bench.phases import ChainResult, Options

TARGETS = {  # the figures bench/README.md promises, on this 2-core machine with Kafka and PostgreSQL on it
    "aggregator_events_per_s": (">=", 30_000),
    "aggregator_vs_ceiling": (">=", 0.6),
    "aggregator_vs_naive": (">=", 10),
    "collector_events_per_s": (">=", 20_000),
    "collector_vs_producer_ceiling": (">=", 0.5),
    "e2e_p99_s": ("<=", 1.0),
    "alerter_full_eval_s": ("<=", 2.0),
    "alerter_reaction_p99_s": ("<=", 1.0),
    "rss_mb_max": ("<=", 200),
    "durable_bytes_per_event_live": ("<=", 50),
}

SAMPLED = ("collector", "producer", "aggregator", "ceiling", "naive", "aggregator_x2")


def figures(opts: Options, runs: list[dict[str, Any]], chain: ChainResult) -> dict[str, Any]:
    def rates(key: str) -> list[float]:
        return [r[key] if isinstance(r[key], float) else r[key].events_per_s for r in runs if key in r]

    def ratio(a: str, b: str) -> float:
        return med([x / y for x, y in zip(rates(a), rates(b), strict=True)])

    segs = chain.segments
    rss = {
        "collector": max([r["collector"].rss_mb for r in runs] + [chain.rss_mb.get("collector", 0.0)]),
        "aggregator": max([r["aggregator"].rss_mb for r in runs] + [chain.rss_mb.get("aggregator", 0.0)]),
        "alerter": chain.rss_mb.get("alerter", 0.0),
    }
    out: dict[str, Any] = {
        "collector_events_per_s": med(rates("collector")),
        "producer_ceiling_events_per_s": med(rates("producer")),
        "aggregator_events_per_s": med(rates("aggregator")),
        "aggregator_ceiling_events_per_s": med(rates("ceiling")),
        "naive_events_per_s": med(rates("naive")),
        "aggregator_two_processes_events_per_s": med(rates("aggregator_x2")) if opts.scale_out else None,
        "e2e_rate_events_per_s": opts.e2e_rate,
        "e2e_p50_s": med([s["e2e_p50_s"] for s in segs]),
        "e2e_p99_s": med([s["e2e_p99_s"] for s in segs]),
        "e2e_max_s": max(s["e2e_max_s"] for s in segs),
        "alerter_full_eval_s": chain.full_eval_s,
        "alerter_full_eval_targets": chain.targets,
        "alerter_reaction_p50_s": med([s["reaction_p50_s"] for s in segs]),
        "alerter_reaction_p99_s": med([s["reaction_p99_s"] for s in segs]),
        "rss_mb": {k: round(v, 1) for k, v in rss.items()},
        "ratios": {
            "collector_vs_producer_ceiling": ratio("collector", "producer"),
            "aggregator_vs_ceiling": ratio("aggregator", "ceiling"),
            "aggregator_vs_naive": ratio("aggregator", "naive"),
            "two_aggregators_vs_one": ratio("aggregator_x2", "aggregator") if opts.scale_out else None,
        },
        "totals_exact": all(r["totals_exact"] and r.get("totals_exact_x2", True) for r in runs),
        "collector_load_cpu_s": {  # how much of the 2 cores the HTTP client took from the collector
            "client": med([r["collector"].client_cpu_s for r in runs]),
            "collector": med([r["collector"].cpu_s for r in runs]),
            "wall": med([r["collector"].wall_s for r in runs]),
        },
        "aggregator_cpu_s_per_1000_events": med(
            [1000 * r["aggregator"].cpu_s / (r["aggregator"].events_per_s * r["aggregator"].wall_s) for r in runs]
        ),
        "aggregator_workload": {  # what the aggregator's figures were measured on (bench/workload.py)
            "events": med([r["events"] for r in runs if "events" in r]),
            "amendments": med([r["amendments"] for r in runs if "amendments" in r]),
            "amendment_share": opts.amendments,
        },
        # bytes of aggregates per event at the bench's live workload (~14 events per series-day), beside the
        # history's sparse cadence (bench.scale durable_bytes_per_event)
        "durable_bytes_per_event_live": med(
            [r["beyond_horizon_bytes"] / r["events"] for r in runs if "beyond_horizon_bytes" in r] or [0.0]
        ),
        "runs": opts.runs,
        "samples": {k: [round(x, 1) for x in rates(k)] for k in SAMPLED},
        "e2e_segments": segs,
        "options": dataclasses.asdict(opts),
    }
    out["rss_mb_max"] = max(rss.values())
    flat = {**out, **out["ratios"]}
    out["targets_met"] = {k: _meets(flat.get(k), op, v) for k, (op, v) in TARGETS.items()}
    rounded: dict[str, Any] = _rounded(out)
    return rounded


def table(result: dict[str, Any]) -> str:
    flat = {**result, **result["ratios"]}
    rows = [
        ("producer ceiling (bare aiokafka, acks=all)", "producer_ceiling_events_per_s", "events/s"),
        ("collector over HTTP, batches of 500", "collector_events_per_s", "events/s"),
        ("  collector / producer ceiling", "collector_vs_producer_ceiling", "×"),
        ("aggregator ceiling (getmany → COPY → 1 upsert)", "aggregator_ceiling_events_per_s", "events/s"),
        ("aggregator (one process)", "aggregator_events_per_s", "events/s"),
        ("  aggregator / ceiling", "aggregator_vs_ceiling", "×"),
        ("naive (one event per transaction)", "naive_events_per_s", "events/s"),
        ("  aggregator / naive", "aggregator_vs_naive", "×"),
        ("two aggregator processes", "aggregator_two_processes_events_per_s", "events/s"),
        ("  two / one", "two_aggregators_vs_one", "×"),
        ("e2e p50 at 2,000 events/s", "e2e_p50_s", "s"),
        ("e2e p99 at 2,000 events/s", "e2e_p99_s", "s"),
        ("alerter full evaluation", "alerter_full_eval_s", "s"),
        ("alerter reaction p99", "alerter_reaction_p99_s", "s"),
        ("largest RSS of a service", "rss_mb_max", "MB"),
        ("durable bytes per event past the horizon", "durable_bytes_per_event_live", "B"),
    ]
    met = result["targets_met"]
    lines = [f"{'figure':50} {'median':>12}  {'unit':8} target", "-" * 84]
    for label, key, unit in rows:
        target = TARGETS.get(key)
        mark = "" if target is None else f"{target[0]} {target[1]:g}  {'ok' if met[key] else 'MISSED'}"
        value = flat.get(key)
        shown = "-" if value is None else (f"{value:,.0f}" if unit == "events/s" else f"{value:.3g}")
        lines.append(f"{label:50} {shown:>12}  {unit:8} {mark}")
    work = result["aggregator_workload"]
    lines.append(f"aggregator workload: {work['events']:,.0f} events, {work['amendments']:,.0f} of them corrections "
                 f"or retractions ({100 * work['amendment_share']:g} %)")  # fmt: skip
    lines.append(f"RSS MB per service: {result['rss_mb']}   totals exact: {result['totals_exact']}")
    lines.append(f"machine: {result['machine']}")
    return "\n".join(lines)


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _meets(value: Any, op: str, limit: float) -> bool:
    if value is None:
        return False
    return bool(value >= limit if op == ">=" else value <= limit)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4) if abs(value) < 100 else round(value, 1)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value
