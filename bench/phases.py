"""One throughput run (every reference point on the same events, back to back) and the chain at a fixed rate."""

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench import stack, throughput
from bench.alerting import full_evaluation, load_history
from bench.ceilings import aggregator_ceiling, naive, produce
from bench.chain import CommitWatch, Probes, latencies, paced_load, probe_ranks
from bench.isolate import isolated
from bench.sizes import BEYOND_HORIZON, table_sizes
from bench.workload import AMENDMENT_SHARE, generate
from dx.tokens import create_source_token
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.settings import Settings

WARM_UP = 2000  # events sent before timing the producer: topic leaders elected, connections open
GROUP = "bench-aggregator"


@dataclass(frozen=True)
class Options:
    runs: int
    events: int
    collector_events: int
    naive_events: int
    concurrency: int
    per_request: int
    scale_out: bool
    scale_out_events: int
    e2e_rate: int
    e2e_seconds: float
    e2e_per_request: int
    full_evals: int
    amendments: float = AMENDMENT_SHARE  # share of the aggregator's events that correct or retract an earlier one


async def throughput_run(
    opts: Options, settings: Settings, catalog: Catalog, hierarchy: Hierarchy, seed: int
) -> dict[str, Any]:
    workload = generate(hierarchy, opts.events, seed, amendments=opts.amendments)
    messages = workload.messages()
    out: dict[str, Any] = {"amendments": workload.amendments(), "events": len(workload.events)}
    async with isolated(settings, catalog, hierarchy) as iso:
        await produce(iso, iso.topic_events, messages[:WARM_UP])
        out["producer"] = await throughput.producer_ceiling(iso, messages[WARM_UP:])
        out["aggregator"] = await throughput.aggregator(iso, len(messages))
        out["totals_exact"] = await throughput.totals_exact(iso, workload, hierarchy)
        sizes = await table_sizes(iso, BEYOND_HORIZON)  # what stays of these events once their month is pruned
        out["beyond_horizon_bytes"] = sum(t["bytes"] for t in sizes.values())
        out["ceiling"] = len(messages) / await aggregator_ceiling(iso, iso.topic_events, len(messages))
        out["naive"] = opts.naive_events / await naive(iso, iso.topic_events, opts.naive_events)
        bodies = generate(hierarchy, opts.collector_events, seed + 1000).bodies(opts.per_request)
        out["collector"] = await throughput.collector(iso, bodies, opts.per_request, opts.concurrency)
    if opts.scale_out:  # more events: the first process works alone until the group has rebalanced (~1 s)
        workload = generate(hierarchy, opts.scale_out_events, seed + 2000, amendments=opts.amendments)
        messages = workload.messages()
        async with isolated(settings, catalog, hierarchy) as iso:
            await produce(iso, iso.topic_events, messages)
            out["aggregator_x2"] = await throughput.aggregator(iso, len(messages), processes=2)
            out["totals_exact_x2"] = await throughput.totals_exact(iso, workload, hierarchy)
    return out


@dataclass
class ChainResult:
    full_eval_s: float = 0.0
    targets: int = 0
    history_events: int = 0
    segments: list[dict[str, float]] = field(default_factory=list)
    rss_mb: dict[str, float] = field(default_factory=dict)


async def chain_phase(opts: Options, settings: Settings, catalog: Catalog, hierarchy: Hierarchy) -> ChainResult:
    result = ChainResult()
    async with isolated(settings, catalog, hierarchy) as iso:
        server, am_url = await stack.fake_alertmanager()
        services = [stack.aggregator(iso, GROUP), stack.alerter(iso, am_url), stack.collector(iso)]
        watch = CommitWatch(iso, GROUP)
        watcher = asyncio.create_task(watch.run())
        try:
            for s in services:
                s.launch()
            for s in services:
                await asyncio.to_thread(s.wait_ready)
            result.history_events = await load_history(iso, catalog, hierarchy)
            await caught_up(watch, result.history_events)
            result.full_eval_s, result.targets = await full_evaluation(iso, catalog, hierarchy, opts.full_evals)
            source, token = await create_source_token(iso, "bench-e2e")
            sent = result.history_events
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            base = stack.collector_url(services[2])
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30.0) as load, \
                    httpx.AsyncClient(base_url=base, headers=headers, timeout=30.0) as probe_client:  # fmt: skip
                for segment in range(opts.runs):
                    probes, stop = Probes(iso, probe_client, probe_ranks(catalog)), asyncio.Event()
                    probing = asyncio.create_task(probes.run(stop))
                    since = time.time()
                    sent += await paced_load(
                        load, hierarchy, opts.e2e_rate, opts.e2e_per_request, opts.e2e_seconds, 500 + segment
                    )
                    stop.set()
                    await probing
                    until = time.time()
                    sent += probes.sent
                    await caught_up(watch, sent)
                    result.segments.append(summary(await latencies(iso, watch, source, since, until), probes.reactions))
            result.rss_mb = {s.name: round(s.peak_rss_mb(), 1) for s in services}
        finally:
            watch.stop.set()
            await watcher
            for s in services:
                s.stop()
            server.close()
    return result


async def caught_up(watch: CommitWatch, total: int, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while watch.committed() < total:
        if time.monotonic() > deadline:
            raise TimeoutError(f"aggregator committed {watch.committed()} of {total} events")
        await asyncio.sleep(0.05)


def summary(latency: list[float], reactions: list[float]) -> dict[str, float]:
    return {
        "events": len(latency),
        "e2e_p50_s": percentile(latency, 50),
        "e2e_p99_s": percentile(latency, 99),
        "e2e_max_s": max(latency),
        "probes": len(reactions),
        "reaction_p50_s": percentile(reactions, 50),
        "reaction_p99_s": percentile(reactions, 99),
    }


def percentile(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if p < 100 else max(values)
