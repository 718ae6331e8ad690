"""Throughput phases: producer ceiling, aggregator (one or more processes), collector over HTTP, totals check."""

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import httpx
import orjson

from bench import stack
from bench.ceilings import produce
from bench.workload import PROVINCE, Workload
from dx.tokens import create_source_token
from shared import names
from shared.domain.hierarchy import Hierarchy
from shared.domain.timeutil import local_date
from shared.settings import Settings
from testing.processes import ServiceProcess

APPLIED = names.M_EVENTS_APPLIED + "_total"
TAKEN = names.M_BATCH_SIZE + "_sum"  # messages of the batches added to transactions so far


@dataclass
class Measured:
    events_per_s: float
    rss_mb: float = 0.0
    cpu_s: float = 0.0  # CPU seconds of the measured service(s) during the phase
    client_cpu_s: float = 0.0  # CPU seconds of this (load-generating) process during the phase
    wall_s: float = 0.0


async def producer_ceiling(settings: Settings, messages: list[tuple[bytes, bytes]]) -> Measured:
    seconds = await produce(settings, settings.topic_events, messages)
    return Measured(len(messages) / seconds, wall_s=seconds)


async def aggregator(settings: Settings, count: int, processes: int = 1, timeout: float = 600.0) -> Measured:
    """Start `processes` aggregators (one group) on a topic already holding `count` events; the rate is measured
    from the first sample where every process has taken batches into its transactions to the last event applied,
    sampling their counters every 50 ms (start-up, and a process working alone before the others join, excluded):
    (count − events taken at that sample) / time. A transaction holds several batches while a backlog waits, so
    counting from the first commit instead would leave out the work of the first transaction. If one process
    finished before the others joined (small runs), the rate is taken from its first batch instead."""
    services = [stack.aggregator(settings, "bench-aggregator").launch() for _ in range(processes)]
    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            first_any: tuple[float, float, float] | None = None  # (time, taken, cpu) at the first sample with …
            first_all: tuple[float, float, float] | None = None  # … any / every process at work
            deadline = time.perf_counter() + timeout
            while True:
                scraped = [await so_far(client, s) for s in services]
                taken, applied, now = [t for t, _ in scraped], sum(a for _, a in scraped), time.perf_counter()
                sample = (now, sum(taken), sum(s.cpu() for s in services))
                first_any = first_any or (sample if any(taken) else None)
                first_all = first_all or (sample if all(taken) else None)
                if applied >= count:
                    break
                if now > deadline:
                    raise TimeoutError(f"aggregator applied {applied} of {count} events:\n{services[0].log_tail()}")
                await asyncio.sleep(0.05)
        first = first_all if first_all is not None and first_all[1] < count else first_any
        if first is None or first[1] >= count:
            raise RuntimeError("every event was taken before the first sample: use more events")
        cpu = sum(s.cpu() for s in services) - first[2]
        rate = (count - first[1]) / (now - first[0])
        return Measured(rate, max(s.peak_rss_mb() for s in services), cpu, wall_s=now - first[0])
    finally:
        for s in services:
            s.stop()


async def so_far(client: httpx.AsyncClient, service: ServiceProcess) -> tuple[float, float]:
    """The service's (TAKEN, APPLIED) counters; zeros while its HTTP server is not up yet."""
    if service.proc is not None and service.proc.poll() is not None:
        raise RuntimeError(f"aggregator exited:\n{service.log_tail()}")
    try:
        taken, applied = await stack.counters(client, service, TAKEN, APPLIED)
    except httpx.TransportError:
        return 0.0, 0.0
    return taken, applied


async def totals_exact(settings: Settings, workload: Workload, hierarchy: Hierarchy) -> bool:
    """True when applied_events and the province's current values hold exactly what was sent."""
    conn = await asyncpg.connect(settings.pg_dsn("app"))
    try:
        row = await conn.fetchrow(
            "SELECT count(*), coalesce(sum(numerator), 0), coalesce(sum(denominator), 0) FROM applied_events"
        )
        current = {
            r["indicator"]: r for r in await conn.fetch("SELECT * FROM current_values WHERE unit = $1", PROVINCE)
        }
    finally:
        await conn.close()
    if tuple(row) != workload.sums():
        return False
    for indicator, (num, den, value) in workload.province_totals(hierarchy, local_date(datetime.now(UTC))).items():
        got = current.get(indicator)
        if got is None:
            return False
        if value is not None and Decimal(got["value"]) != value:
            return False
        if num is not None and (got["numerator"], got["denominator"]) != (num, den):
            return False
    return True


async def collector(settings: Settings, bodies: list[bytes], per_body: int, concurrency: int) -> Measured:
    """POST the bodies with `concurrency` connections; rate = accepted events / wall time (warm-up excluded)."""
    _, token = await create_source_token(settings, "bench")
    service = await asyncio.to_thread(stack.collector(settings).start)
    try:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(
            base_url=stack.collector_url(service), headers=headers, limits=limits, timeout=60.0
        ) as client:
            warm, measured = bodies[:concurrency], iter(bodies[concurrency:])
            await asyncio.gather(*(post(client, b) for b in warm))
            cpu_client, cpu_server, started = time.process_time(), service.cpu(), time.perf_counter()

            async def worker() -> int:
                return sum([await post(client, body) for body in measured])

            accepted = sum(await asyncio.gather(*(worker() for _ in range(concurrency))))
            wall = time.perf_counter() - started
        expected = (len(bodies) - concurrency) * per_body
        if accepted != expected:
            raise RuntimeError(f"collector accepted {accepted} of {expected} events")
        return Measured(
            accepted / wall, service.peak_rss_mb(), service.cpu() - cpu_server, time.process_time() - cpu_client, wall
        )
    finally:
        service.stop()


async def post(client: httpx.AsyncClient, body: bytes) -> int:
    """POST one body; the number accepted (every event must be). A pooled keep-alive connection the server closed
    just as it was reused (httpx.ReadError / RemoteProtocolError) is retried once: the same event ids, so the
    collector's answer for a copy already published is the same and nothing counts twice."""
    try:
        response = await client.post("/v1/events", content=body)
    except (httpx.ReadError, httpx.RemoteProtocolError):
        response = await client.post("/v1/events", content=body)
    doc = orjson.loads(response.content)
    if response.status_code != 202 or doc["rejected"]:
        raise RuntimeError(f"collector answered {response.status_code}: {str(doc)[:300]}")
    return int(doc["accepted"])
