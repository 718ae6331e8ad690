"""The pipelined loop: batch n+1 is read while batch n's transaction runs, transactions stay in order, and a failed
batch rewinds its partitions and the next batch's, which is never applied (so no later offset is stored)."""

import asyncio
import time
import uuid
from types import SimpleNamespace
from typing import Any

import orjson
from aiokafka import TopicPartition

from services.aggregator import consumer as consumer_module
from services.aggregator.apply import Applied, Staged
from services.aggregator.consumer import Aggregator
from services.aggregator.metrics import AggregatorMetrics
from services.aggregator.settings import AggregatorSettings
from services.aggregator.store import Offsets

TOPIC = "dx.events.v1"
P0, P1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)


def record(partition: int, offset: int) -> SimpleNamespace:
    value = orjson.dumps({
        "event_id": str(uuid.uuid4()), "indicator": "gov.level4_procedures_online", "unit": "14758",
        "observed_at": "2025-08-10T10:00:00+07:00", "numerator": 1, "denominator": 2, "source": "t",
        "received_at": "2025-08-10T03:00:01Z",
    })  # fmt: skip
    return SimpleNamespace(topic=TOPIC, partition=partition, offset=offset, key=None, value=value)


class FakeConsumer:
    """Hands out scripted batches; `on_fetch[i]` runs when batch i is handed out; stops the loop when done."""

    def __init__(self, script: list[dict[TopicPartition, list[Any]]], stop: asyncio.Event) -> None:
        self.script, self.stop = list(script), stop
        self.fetched = 0
        self.on_fetch: dict[int, asyncio.Event] = {}
        self.seeks: dict[TopicPartition, int] = {}
        self.commits: list[dict[TopicPartition, int]] = []

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[Any]]:
        if not self.script:
            self.stop.set()
            return {}
        if self.fetched in self.on_fetch:
            self.on_fetch[self.fetched].set()
        self.fetched += 1
        return self.script.pop(0)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks[tp] = offset

    def assignment(self) -> set[TopicPartition]:
        return {P0, P1}

    def highwater(self, tp: TopicPartition) -> None:
        return None

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(offsets)


class FakeApply:
    """apply_batch stand-in: the first call waits until batch 2 has been fetched, then fails or succeeds."""

    def __init__(self, gate: asyncio.Event, first_fails: bool) -> None:
        self.gate, self.first_fails = gate, first_fails
        self.calls: list[dict[int, int]] = []  # offsets of each transaction, in order
        self.running = 0

    async def __call__(
        self, pool: Any, catalog: Any, hierarchy: Any, decoder: Any, batch: Staged, offsets: Offsets, refuse: Any = None
    ) -> Applied:
        assert self.running == 0, "two transactions at once"
        self.running += 1
        try:
            self.calls.append(offsets.next_offsets)
            if len(self.calls) == 1:
                await self.gate.wait()
                if self.first_fails:
                    raise RuntimeError("injected")
            return Applied(applied=batch.prepared.rows)
        finally:
            self.running -= 1


async def run(settings: Any, catalog: Any, hierarchy: Any, monkeypatch: Any, first_fails: bool) -> tuple[Any, Any]:
    stop = asyncio.Event()
    script = [{P0: [record(0, 0), record(0, 1)]}, {P0: [record(0, 2)], P1: [record(1, 0)]}]
    consumer = FakeConsumer(script, stop)
    gate = consumer.on_fetch[1] = asyncio.Event()  # batch 1 is read while batch 0's transaction waits
    fake = FakeApply(gate, first_fails)
    monkeypatch.setattr(consumer_module, "apply_batch", fake)
    agg_settings = AggregatorSettings(**{**settings.model_dump(), "aggregator_retry_seconds": 0.01})
    agg = Aggregator(agg_settings, catalog, hierarchy, None, consumer, SimpleNamespace(), AggregatorMetrics())
    agg.last_refresh = time.monotonic()  # no periodic refresh in this test
    await asyncio.wait_for(agg.run(stop), 10)
    return consumer, fake


async def test_batches_are_applied_in_order_one_at_a_time(settings, catalog, hierarchy, monkeypatch):
    consumer, fake = await run(settings, catalog, hierarchy, monkeypatch, first_fails=False)
    assert fake.calls == [{0: 2}, {0: 3, 1: 1}]
    assert consumer.seeks == {}
    assert consumer.commits == [{P0: 2}, {P0: 3, P1: 1}]


async def test_a_failed_batch_rewinds_itself_and_the_batch_read_during_it(settings, catalog, hierarchy, monkeypatch):
    consumer, fake = await run(settings, catalog, hierarchy, monkeypatch, first_fails=True)
    assert fake.calls == [{0: 2}]  # the batch read during the failed transaction was never applied
    assert consumer.seeks == {P0: 0, P1: 0}  # both read again from their first offsets
    assert consumer.commits == []
