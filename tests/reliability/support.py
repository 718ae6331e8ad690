"""Helpers of the fault tests: real service processes, an HTTP load that retries until every batch is acknowledged
(202), and the reconciliation of every acknowledged event against PostgreSQL (exactly once, nothing else)."""

import asyncio
import contextlib
import random
import re
import uuid
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson

from shared.domain.hierarchy import load_hierarchy
from shared.domain.timeutil import local_date
from shared.settings import Settings
from testing.processes import ServiceProcess, free_port
from tests.reliability.conftest import Tally
from tests.support.db import add_source as add_source  # re-exported for the tests of this layer
from tests.support.db import fetch as fetch
from tests.support.env import eventually

INDICATOR = "gov.satisfaction"  # increment ratio: every event adds 1 to the denominator of its commune and province
PROVINCE = "38"
COMMUNES = sorted(u.code for u in load_hierarchy().units_in_force(local_date(datetime.now(UTC)), "commune"))


def collector(settings: Settings, nofile: int | None = None, **env: str) -> ServiceProcess:
    """A collector process on a free port (ingest consumer off unless asked): `url` is its base URL."""
    port = free_port()
    own = settings.model_copy(update={"collector_port": port})
    extra = {"DX_COLLECTOR_INGEST_ENABLED": "false", "DX_COLLECTOR_PUBLISH_TIMEOUT_S": "3", **env}
    return ServiceProcess("collector", own, f"http://127.0.0.1:{port}/readyz", extra, nofile=nofile)


def base_url(proc: ServiceProcess) -> str:
    return proc.ready_url.removesuffix("/readyz")


def aggregator(settings: Settings, group: str, max_records: int = 500, **env: str) -> ServiceProcess:
    port = free_port()
    extra = {
        "DX_AGGREGATOR_METRICS_PORT": str(port),
        "DX_AGGREGATOR_GROUP": group,
        "DX_AGGREGATOR_MAX_RECORDS": str(max_records),
        "DX_AGGREGATOR_RETRY_SECONDS": "0.5",
        **env,
    }
    return ServiceProcess("aggregator", settings, f"http://127.0.0.1:{port}/healthz", extra)


def metrics_url(proc: ServiceProcess) -> str:
    return proc.ready_url.replace("/healthz", "/metrics")


async def scrape(url: str, name: str) -> float:
    """Sum of every sample of metric `name` at a /metrics URL."""
    async with httpx.AsyncClient(timeout=5) as client:
        text = (await client.get(url)).text
    pattern = re.compile(rf"^{re.escape(name)}(?:\{{[^}}]*\}})? (\S+)$", re.MULTILINE)
    return sum(float(v) for v in pattern.findall(text))


async def applied_count(settings: Settings) -> int:
    return int((await fetch(settings, "SELECT count(*) AS n FROM applied_events"))[0]["n"])


def load_event(rng: random.Random) -> dict[str, Any]:
    observed = datetime.now(UTC) - timedelta(minutes=rng.randrange(1, 120))
    return {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "indicator": INDICATOR,
        "unit": rng.choice(COMMUNES),
        "observed_at": observed.isoformat(),
        "numerator": rng.randrange(2),
        "denominator": 1,
    }


class Load:
    """POSTs batches of fresh events; a batch is retried (same event_ids) until it gets 202, so every event sent
    is acknowledged in the end. `acked` holds the acknowledged events; `statuses` counts the answers and errors."""

    def __init__(self, url: str, auth: Mapping[str, str], batch: int = 50, pause: float = 0.02, seed: int = 7):
        self.url, self.auth, self.batch, self.pause = url, dict(auth), batch, pause
        self.rng = random.Random(seed)
        self.acked: dict[str, dict[str, Any]] = {}
        self.statuses: Counter[str] = Counter()
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> "Load":
        self.task = asyncio.create_task(self.run())
        return self

    async def finish(self, timeout: float = 120.0) -> None:
        """Stop sending new batches; wait until the pending one is acknowledged."""
        self.stop.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, timeout)

    async def run(self, batches: int | None = None) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=15, headers=self.auth) as client:
            sent = 0
            while not self.stop.is_set() and (batches is None or sent < batches):
                await self.deliver(client, [load_event(self.rng) for _ in range(self.batch)])
                sent += 1
                await asyncio.sleep(self.pause)

    async def deliver(self, client: httpx.AsyncClient, events: list[dict[str, Any]]) -> None:
        body = orjson.dumps(events)
        while True:
            try:
                response = await client.post("/v1/events", content=body)
            except httpx.TransportError as err:
                self.statuses[type(err).__name__] += 1
            else:
                self.statuses[str(response.status_code)] += 1
                if response.status_code == 202:
                    doc = response.json()
                    assert doc == {"accepted": len(events), "rejected": []}, doc
                    self.acked.update((e["event_id"], e) for e in events)
                    return
                assert response.status_code in (429, 503), f"{response.status_code}: {response.text}"
            await asyncio.sleep(0.2)

    async def wait_acked(self, n: int, timeout: float = 60.0) -> None:
        async def enough() -> bool:
            assert self.task is None or not self.task.done() or self.task.exception() is None
            return len(self.acked) >= n

        await eventually(enough, timeout=timeout)


async def send_all(url: str, auth: Mapping[str, str], n: int, seed: int, batch: int = 100) -> dict[str, Any]:
    """n events over HTTP, every batch retried until acknowledged; returns the acknowledged events."""
    load = Load(url, auth, batch=batch, pause=0, seed=seed)
    await load.run(batches=-(-n // batch))
    return load.acked


async def reconcile(settings: Settings, acked: Mapping[str, dict[str, Any]], tally: Tally, timeout=120.0) -> None:
    """Every acknowledged event applied exactly once and nothing else; province and commune totals exact."""
    tally.events_acknowledged += len(acked)

    async def caught_up() -> bool:
        return await applied_count(settings) >= len(acked)

    with contextlib.suppress(AssertionError):  # what is missing is counted as lost below
        await eventually(caught_up, timeout=timeout)
    applied = {str(r["event_id"]) for r in await fetch(settings, "SELECT event_id FROM applied_events")}
    rows = await fetch(
        settings,
        "SELECT unit, numerator, denominator FROM current_values WHERE indicator = $1 AND level IN ('commune', $2)",
        INDICATOR,
        "province",
    )
    by_unit = {r["unit"]: (int(r["numerator"]), int(r["denominator"])) for r in rows}
    lost = set(acked) - applied
    extra = applied - set(acked)
    counted = by_unit.get(PROVINCE, (0, 0))[1]
    tally.events_lost += len(lost)
    tally.events_double_counted += max(0, counted - len(applied & set(acked)))
    assert not lost, f"{len(lost)} acknowledged events missing, e.g. {sorted(lost)[:3]}"
    assert not extra, f"{len(extra)} events applied that were never acknowledged"
    expected: dict[str, list[int]] = {}
    for e in acked.values():
        for unit in (e["unit"], PROVINCE):
            sums = expected.setdefault(unit, [0, 0])
            sums[0] += e["numerator"]
            sums[1] += e["denominator"]
    assert by_unit == {u: (s[0], s[1]) for u, s in expected.items()}


async def kafka_committed(settings: Settings, group: str, topic: str) -> dict[int, int]:
    """The offsets the consumer group committed to Kafka (partition → next offset)."""
    from aiokafka.admin import AIOKafkaAdminClient

    from shared.adapters.kafka import client_kwargs, group_id

    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group_id(settings, group))
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset >= 0}


async def stored_offsets(settings: Settings, group: str) -> dict[int, int]:
    from shared.adapters.kafka import group_id

    query = "SELECT partition, next_offset FROM consumer_offsets WHERE consumer_group = $1"
    rows = await fetch(settings, query, group_id(settings, group))
    return {r["partition"]: r["next_offset"] for r in rows}


async def backend_waiting_on(settings: Settings, table: str) -> bool:
    """True when a backend of the aggregator's role waits for a lock in a statement on `table`."""
    rows = await fetch(
        settings,
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'"
        " AND query ILIKE $2 AND pid <> pg_backend_pid()",
        settings.pg_database,
        f"%INSERT INTO {table}%",
        role="aggregator",  # a role sees the statements of its own sessions only
    )
    return bool(rows[0]["n"])


class IngestLoad:
    """Produces batches of fresh events to a source's ingest topic (acks=all, idempotent); a record whose send fails
    is sent again until Kafka acknowledges it. `acked` holds the acknowledged events."""

    def __init__(self, settings: Settings, topic: str, batch: int = 50, pause: float = 0.05, seed: int = 11):
        self.settings, self.topic, self.batch, self.pause = settings, topic, batch, pause
        self.rng = random.Random(seed)
        self.acked: dict[str, dict[str, Any]] = {}
        self.failures: Counter[str] = Counter()
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> "IngestLoad":
        self.task = asyncio.create_task(self.run())
        return self

    async def finish(self, timeout: float = 120.0) -> None:
        self.stop.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, timeout)

    async def run(self) -> None:
        from aiokafka import AIOKafkaProducer

        from shared.adapters.kafka import producer_kwargs

        producer = AIOKafkaProducer(**producer_kwargs(self.settings), request_timeout_ms=10_000)
        await producer.start()
        try:
            while not self.stop.is_set():
                pending = [load_event(self.rng) for _ in range(self.batch)]
                while pending:
                    pending = await self.send(producer, pending)
                    if pending:
                        await asyncio.sleep(0.5)
                await asyncio.sleep(self.pause)
        finally:
            await producer.stop()

    async def send(self, producer: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send and wait; returns the events Kafka did not acknowledge."""
        from aiokafka.errors import KafkaError

        sent: list[tuple[dict[str, Any], asyncio.Future[Any]]] = []
        failed = []
        for event in events:
            try:
                sent.append((event, await producer.send(self.topic, orjson.dumps(event))))
            except KafkaError as err:
                self.failures[type(err).__name__] += 1
                failed.append(event)
        if sent:
            await asyncio.wait([f for _, f in sent])
        for event, future in sent:
            if future.exception() is None:
                self.acked[event["event_id"]] = event
            else:
                self.failures[type(future.exception()).__name__] += 1
                failed.append(event)
        return failed

    async def wait_acked(self, n: int, timeout: float = 60.0) -> None:
        async def enough() -> bool:
            assert self.task is None or not self.task.done() or self.task.exception() is None
            return len(self.acked) >= n

        await eventually(enough, timeout=timeout)
