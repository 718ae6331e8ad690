"""The whole chain at a fixed rate: collector → Kafka → aggregator → PostgreSQL → dx.rollups.v1 → alerter.

- End-to-end latency, per event: from `received_at` (set by the collector) to the commit of the aggregator
  transaction that applied it. The commit time is observed by polling `consumer_offsets` (written in that same
  transaction) every 10 ms: an event at offset o of partition p is committed when next_offset[p] > o first shows.
- Alerter reaction, per probe: a province rank event is sent alone; from the aggregator's `current_values.updated_at`
  of that pair (when its transaction wrote the row, just before its commit; until session 13 the transaction's
  start, which since group commit can be a previous commit's wait earlier) to the alerter's NOTIFY naming the pair
  (sent when its target_status rows commit). One probe at a time, so each notification belongs to one probe.
"""

import asyncio
import bisect
import random
import time
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
import orjson

from bench.throughput import post
from bench.workload import PROVINCE, stream
from shared.adapters.kafka import group_id
from shared.contracts.topics import CHANNEL_ALERTER, parse_notify
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.domain.periods import period_of
from shared.domain.timeutil import LOCAL_TZ, local_date
from shared.settings import Settings

PROBE_INDICATOR = "overall.dti_rank"
UPDATED_AT = "SELECT extract(epoch FROM updated_at)::float8 FROM current_values WHERE indicator = $1 AND unit = $2"


class CommitWatch:
    """Polls consumer_offsets; `commit_time(p, o)` is when offset o of partition p was first seen committed."""

    def __init__(self, settings: Settings, group: str) -> None:
        self.settings, self.group = settings, group_id(settings, group)  # offsets are stored under the full group id
        self.seen: dict[int, tuple[list[int], list[float]]] = {}
        self.stop = asyncio.Event()

    async def run(self) -> None:
        conn = await asyncpg.connect(self.settings.pg_dsn("app"))
        try:
            while not self.stop.is_set():
                rows = await conn.fetch(
                    "SELECT partition, next_offset FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2",
                    self.group,
                    self.settings.topic_events,
                )
                now = time.time()
                for r in rows:
                    offsets, times = self.seen.setdefault(r["partition"], ([], []))
                    if not offsets or r["next_offset"] > offsets[-1]:
                        offsets.append(r["next_offset"])
                        times.append(now)
                await asyncio.sleep(0.01)
        finally:
            await conn.close()

    def commit_time(self, partition: int, offset: int) -> float | None:
        offsets, times = self.seen.get(partition, ([], []))
        i = bisect.bisect_right(offsets, offset)
        return times[i] if i < len(offsets) else None

    def committed(self) -> int:
        return sum(offsets[-1] for offsets, _ in self.seen.values() if offsets)


async def latencies(settings: Settings, watch: CommitWatch, source: str, since: float, until: float) -> list[float]:
    """Seconds from received_at to commit of every event of `source` received in [since, until)."""
    conn = await asyncpg.connect(settings.pg_dsn("app"))
    try:
        rows = await conn.fetch(
            "SELECT kafka_partition, kafka_offset, extract(epoch FROM received_at)::float8 AS received FROM "
            "applied_events WHERE source = $1 AND received_at >= to_timestamp($2) AND received_at < to_timestamp($3)",
            source,
            since,
            until,
        )
    finally:
        await conn.close()
    out = []
    for r in rows:
        committed = watch.commit_time(r["kafka_partition"], r["kafka_offset"])
        if committed is None:
            raise RuntimeError(f"offset {r['kafka_offset']} of partition {r['kafka_partition']} never seen committed")
        out.append(committed - r["received"])
    return out


async def paced_load(
    client: httpx.AsyncClient, hierarchy: Hierarchy, rate: int, per_request: int, seconds: float, seed: int
) -> int:
    """POST `rate` events/s in requests of `per_request`, on a fixed schedule (a slow answer does not delay the
    next request); returns the events accepted."""
    events = list(stream(hierarchy, seed, datetime.now(UTC), int(rate * seconds)))
    bodies = [orjson.dumps(events[i : i + per_request]) for i in range(0, len(events), per_request)]
    loop = asyncio.get_running_loop()
    interval, start, tasks = per_request / rate, loop.time(), []
    for k, body in enumerate(bodies):
        await asyncio.sleep(max(0.0, start + k * interval - loop.time()))
        tasks.append(asyncio.create_task(post(client, body)))
    return sum(await asyncio.gather(*tasks))


def probe_ranks(catalog: Catalog) -> int:
    """How many units today's period of the probe's ranking ranks (its rank scale, else its maximum)."""
    indicator = catalog[PROBE_INDICATOR]
    today = local_date(datetime.now(UTC))
    scale = indicator.scale_for(period_of(indicator.period, today)) if indicator.period is not None else None
    return scale or int(indicator.max or 1)


class Probes:
    """Province rank events, one at a time; reaction = NOTIFY received − current_values.updated_at. Ranks stay within
    the scale of the period observed (34 provinces from 2025: a rank of 36 is refused as out_of_range)."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient, ranks: int) -> None:
        self.settings, self.client, self.ranks = settings, client, ranks  # ranks: units the ranking ranks now
        self.notified: asyncio.Queue[float] = asyncio.Queue()
        self.reactions: list[float] = []
        self.sent = 0
        self.timeout = 10.0
        self.rng = random.Random()

    def on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        if (PROBE_INDICATOR, PROVINCE) in parse_notify(payload):
            self.notified.put_nowait(time.time())

    async def run(self, stop: asyncio.Event, pause: float = 0.2) -> None:
        conn = await asyncpg.connect(self.settings.pg_dsn("app"))
        await conn.add_listener(CHANNEL_ALERTER, self.on_notify)
        try:
            while not stop.is_set():
                while not self.notified.empty():
                    self.notified.get_nowait()
                await post(self.client, self.body())
                self.sent += 1
                try:
                    notified = await asyncio.wait_for(self.notified.get(), timeout=self.timeout)
                except TimeoutError:  # counted as a reaction of `timeout` seconds, not dropped
                    self.reactions.append(self.timeout)
                    continue
                updated = await conn.fetchval(UPDATED_AT, PROBE_INDICATOR, PROVINCE)
                self.reactions.append(notified - updated)
                await asyncio.sleep(pause)
        finally:
            await conn.close()

    def body(self) -> bytes:
        return orjson.dumps([{
            "event_id": str(uuid.uuid4()),
            "indicator": PROBE_INDICATOR, "unit": PROVINCE, "value": float(self.rng.randint(1, self.ranks)),
            "observed_at": datetime.now(LOCAL_TZ).isoformat(timespec="milliseconds"),
        }])  # fmt: skip
