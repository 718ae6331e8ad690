"""The pipelined loop: batch n+1 is read while batch n's transaction runs, transactions stay in order, and a failed
batch rewinds its partitions and the next batch's, which is never applied (so no later offset is stored). While a
backlog waits, batches join one transaction (rollups folded once), batches with amendments too; a failure in it
rewinds every batch it held; live traffic (less than a full batch waiting) commits each batch, unless the previous
commit is still going on: then the batches read meanwhile join one transaction."""

import asyncio
import time
import uuid
from types import SimpleNamespace
from typing import Any

import orjson
from aiokafka import TopicPartition

from services.aggregator import consumer as consumer_module
from services.aggregator.amend import Refusal
from services.aggregator.apply import Applied, Staged
from services.aggregator.consumer import Aggregator
from services.aggregator.metrics import AggregatorMetrics
from services.aggregator.settings import AggregatorSettings
from services.aggregator.store import Offsets

TOPIC = "dx.events.v1"
P0, P1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)


def record(partition: int, offset: int, **extra: str) -> SimpleNamespace:
    value = orjson.dumps({
        "event_id": str(uuid.uuid4()), "indicator": "gov.level4_procedures_online", "unit": "14758",
        "observed_at": "2025-08-10T10:00:00+07:00", "numerator": 1, "denominator": 2, "source": "t",
        "received_at": "2025-08-10T03:00:01Z", **extra,
    })  # fmt: skip
    return SimpleNamespace(topic=TOPIC, partition=partition, offset=offset, key=None, value=value)


class FakeConsumer:
    """Hands out scripted batches; `on_fetch[i]` runs when batch i is handed out; stops the loop when done.
    `backlog[i]`: the events said to be waiting (in partition 0) after batch i was handed out (none by default)."""

    def __init__(self, script: list[dict[TopicPartition, list[Any]]], stop: asyncio.Event) -> None:
        self.script, self.stop = list(script), stop
        self.fetched = 0
        self.on_fetch: dict[int, asyncio.Event] = {}
        self.backlog: dict[int, int] = {}
        self.rebalance_at: int | None = None  # getmany number during which a rebalance happens
        self.listener: Any = None  # what the rebalance calls (Aggregator.drain)
        self.seeks: dict[TopicPartition, int] = {}
        self.commits: list[dict[TopicPartition, int]] = []

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[Any]]:
        if not self.script:
            self.stop.set()
            return {}
        if self.fetched in self.on_fetch:
            self.on_fetch[self.fetched].set()
        if self.fetched == self.rebalance_at:
            await self.listener()
        self.fetched += 1
        return self.script.pop(0)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks[tp] = offset

    def assignment(self) -> set[TopicPartition]:
        return {P0, P1}

    def paused(self) -> set[TopicPartition]:
        return set()

    def highwater(self, tp: TopicPartition) -> int:
        return 1_000_000 + (self.backlog.get(self.fetched - 1, 0) if tp == P0 else 0)

    def last_stable_offset(self, tp: TopicPartition) -> int:
        return -1  # read_uncommitted: the high watermark counts

    async def position(self, tp: TopicPartition) -> int:
        return 1_000_000

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(offsets)


class FakeTransactions:
    """Stands in for apply.Transaction: records each transaction's batches and offsets; `fail_at` = (transaction,
    batch) raises there; the first step waits for `gate` (set when batch 1 is read)."""

    def __init__(
        self, gate: asyncio.Event | None, fail_at: tuple[int, int] | None = None, hold_commit: bool = False,
        fail_commit: int | None = None, hold_batches: int = 1,
    ) -> None:  # fmt: skip
        self.gate, self.fail_at = gate, fail_at
        # hold_commit: transaction 0's commit goes on until transaction 1 has begun adding its `hold_batches`th batch
        self.hold_commit, self.fail_commit, self.hold_batches = hold_commit, fail_commit, hold_batches
        self.second_adding = asyncio.Event()
        self.opened: list[list[int]] = []  # rows of each batch, per transaction
        self.calls: list[dict[int, int]] = []  # offsets of each committed transaction, in order
        self.rolled_back = 0
        self.running = 0
        self.amendments: list[list[tuple[int, int]]] = []  # (partition, offset) of each transaction's amendments

    def __call__(self, pool: Any, catalog: Any, hierarchy: Any, months: Any = None) -> "FakeTransaction":
        self.opened.append([])
        return FakeTransaction(self, len(self.opened) - 1)


class FakeTransaction:
    series_days = 0

    def __init__(self, log: FakeTransactions, index: int) -> None:
        self.log, self.index = log, index

    def amendment_keys(self) -> list[tuple[str, str]]:
        return []

    def shares_ids(self, ids: Any) -> bool:
        return False

    async def add(self, batch: Staged, before_insert: Any = None) -> None:
        log = self.log
        assert log.running == 0, "two steps at once"
        log.running += 1
        try:
            log.opened[self.index].append(batch.prepared.rows)
            if self.index == 1 and len(log.opened[1]) >= log.hold_batches:
                log.second_adding.set()
            while len(log.amendments) <= self.index:
                log.amendments.append([])
            log.amendments[self.index] += [(p, o) for p, o, _ in batch.prepared.amendments]
            if log.gate is not None and (self.index, len(log.opened[self.index])) == (0, 1):
                await log.gate.wait()
            if log.fail_at == (self.index, len(log.opened[self.index]) - 1):
                raise RuntimeError("injected")
        finally:
            log.running -= 1

    async def commit(self, offsets: Offsets, refuse: Any = None) -> Applied:
        if self.log.hold_commit and self.index == 0:
            await self.log.second_adding.wait()
        if self.log.fail_commit == self.index:
            raise RuntimeError("injected at the commit")
        amended = self.log.amendments[self.index] if self.index < len(self.log.amendments) else []
        if amended:  # refused, all of them: dead-lettered from whichever batch they came
            await refuse([Refusal(p, o, ["unknown_original: test"]) for p, o in amended])
        self.log.calls.append(offsets.next_offsets)
        return Applied(applied=sum(self.log.opened[self.index]))

    async def rollback(self) -> None:
        self.log.rolled_back += 1


async def run(
    settings: Any, catalog: Any, hierarchy: Any, monkeypatch: Any, script: list[dict[TopicPartition, list[Any]]],
    fail_at: tuple[int, int] | None = None, backlog: dict[int, int] | None = None, gate_second_read: bool = True,
    rebalance_at: int | None = None, letters: list[tuple[Any, list[str]]] | None = None, hold_commit: bool = False,
    fail_commit: int | None = None, hold_batches: int = 1,
) -> tuple[FakeConsumer, FakeTransactions]:  # fmt: skip
    stop = asyncio.Event()
    consumer = FakeConsumer(script, stop)
    consumer.backlog = backlog or {}
    gate = asyncio.Event() if gate_second_read else None  # batch 1 is read while batch 0's step waits
    if gate is not None:
        consumer.on_fetch[1] = gate
    fake = FakeTransactions(gate, fail_at, hold_commit, fail_commit, hold_batches)
    monkeypatch.setattr(consumer_module, "Transaction", fake)
    agg_settings = AggregatorSettings(
        **{**settings.model_dump(), "aggregator_retry_seconds": 0.01, "aggregator_max_records": 2}
    )
    agg = Aggregator(agg_settings, catalog, hierarchy, None, consumer, SimpleNamespace(), AggregatorMetrics())
    agg.last_refresh = time.monotonic()  # no periodic refresh in this test

    async def deadletter(bad: list[tuple[Any, list[str]]], now: Any) -> None:
        (letters if letters is not None else []).extend(bad)

    agg.deadletter = deadletter  # type: ignore[method-assign,assignment]
    consumer.rebalance_at, consumer.listener = rebalance_at, agg.drain
    await asyncio.wait_for(agg.run(stop), 10)
    return consumer, fake


TWO_BATCHES = [{P0: [record(0, 0), record(0, 1)]}, {P0: [record(0, 2)], P1: [record(1, 0)]}]


async def test_batches_are_applied_in_order_one_at_a_time(settings, catalog, hierarchy, monkeypatch):
    consumer, fake = await run(settings, catalog, hierarchy, monkeypatch, list(TWO_BATCHES))
    assert fake.calls == [{0: 2}, {0: 3, 1: 1}]  # nothing waiting after either batch: one transaction each
    assert fake.opened == [[2], [2]]
    assert consumer.seeks == {}
    assert consumer.commits == [{P0: 2}, {P0: 3, P1: 1}]


async def test_a_failed_batch_rewinds_itself_and_the_batch_read_during_it(settings, catalog, hierarchy, monkeypatch):
    consumer, fake = await run(settings, catalog, hierarchy, monkeypatch, list(TWO_BATCHES), fail_at=(0, 0))
    assert fake.calls == []  # the batch read during the failed transaction was never applied
    assert fake.opened == [[2]] and fake.rolled_back == 1
    assert consumer.seeks == {P0: 0, P1: 0}  # both read again from their first offsets
    assert consumer.commits == []


async def test_a_commit_goes_on_beside_the_next_transactions_batch(settings, catalog, hierarchy, monkeypatch):
    # transaction 0's commit ends only once transaction 1 is adding its batch: one after the other, this never ends
    consumer, fake = await run(settings, catalog, hierarchy, monkeypatch, list(TWO_BATCHES), hold_commit=True)
    assert fake.calls == [{0: 2}, {0: 3, 1: 1}]  # still committed in order
    assert consumer.commits == [{P0: 2}, {P0: 3, P1: 1}]
    assert consumer.seeks == {}


async def test_batches_read_while_a_commit_goes_on_join_one_transaction(settings, catalog, hierarchy, monkeypatch):
    # live traffic (nothing waiting), but transaction 0's commit goes on until transaction 1 holds two batches: both
    # join it (its commit would have waited for transaction 0's anyway) and are folded once; before, batch 1
    # committed alone and batch 2 opened a third transaction, which transaction 0's commit never saw
    consumer, fake = await run(
        settings, catalog, hierarchy, monkeypatch, list(BACKLOG), hold_commit=True, hold_batches=2,
        gate_second_read=False,
    )  # fmt: skip
    assert fake.opened == [[2], [2, 2]]
    assert fake.calls == [{0: 2}, {0: 3, 1: 3}]  # in order, the second with the offsets after both its batches
    assert consumer.commits == [{P0: 2}, {P0: 3, P1: 3}]
    assert consumer.seeks == {}


async def test_a_read_that_finds_nothing_keeps_the_held_transaction_open(settings, catalog, hierarchy, monkeypatch):
    # as above, with a read that finds nothing between the two batches: transaction 1 stays open while transaction
    # 0's commit goes on, and batch 2 still joins it; before, the empty read committed it alone (its commit waiting
    # for transaction 0's) and batch 2 opened a third transaction: a fold more at the end of every backlog
    consumer, fake = await run(
        settings, catalog, hierarchy, monkeypatch, [BACKLOG[0], BACKLOG[1], {}, BACKLOG[2]], hold_commit=True,
        hold_batches=2, gate_second_read=False,
    )  # fmt: skip
    assert fake.opened == [[2], [2, 2]]
    assert fake.calls == [{0: 2}, {0: 3, 1: 3}]
    assert consumer.commits == [{P0: 2}, {P0: 3, P1: 3}]


async def test_a_failed_commit_fails_the_transaction_added_beside_it(settings, catalog, hierarchy, monkeypatch):
    consumer, fake = await run(
        settings, catalog, hierarchy, monkeypatch, list(TWO_BATCHES), hold_commit=True, fail_commit=0
    )
    assert fake.opened == [[2], [2]]  # transaction 1 added its batch beside the failing commit …
    assert fake.calls == [] and fake.rolled_back == 2  # … and never committed: both rolled back
    assert consumer.seeks == {P0: 0, P1: 0}  # from the failed transaction's first offsets
    assert consumer.commits == []


BACKLOG = [
    {P0: [record(0, 0), record(0, 1)]},
    {P0: [record(0, 2)], P1: [record(1, 0)]},
    {P1: [record(1, 1), record(1, 2)]},
]


async def test_a_backlog_joins_batches_in_one_transaction(settings, catalog, hierarchy, monkeypatch):
    # a full batch (2) or more waits after batches 0 and 1: both stay open; after batch 2 nothing does
    consumer, fake = await run(
        settings, catalog, hierarchy, monkeypatch, list(BACKLOG), backlog={0: 4, 1: 2}, gate_second_read=False
    )
    assert fake.opened == [[2, 2, 2]]
    assert fake.calls == [{0: 3, 1: 3}]  # one commit, with the offsets after every batch it holds
    assert consumer.commits == [{P0: 3, P1: 3}]
    assert consumer.seeks == {}


async def test_a_backlog_takes_the_events_it_ended_with(settings, catalog, hierarchy, monkeypatch):
    # after batch 1 less than a full batch (2) waits, but one event still does: it joins the backlog's transaction
    # (folded once) and the transaction commits once that many joined; before, batch 1 committed the transaction
    # and batch 2 went alone, with the fold's fixed cost a second time
    consumer, fake = await run(
        settings, catalog, hierarchy, monkeypatch, [*BACKLOG, BACKLOG[0]], backlog={0: 4, 1: 1, 2: 1, 3: 0},
        gate_second_read=False,
    )  # fmt: skip
    assert fake.opened == [[2, 2, 2], [2]]  # the one waiting came with batch 2; batch 3 (live) was not held for
    assert fake.calls == [{0: 3, 1: 3}, {0: 2}]
    assert consumer.seeks == {}


async def test_a_failure_in_a_joined_transaction_rewinds_every_batch_of_it(settings, catalog, hierarchy, monkeypatch):
    consumer, fake = await run(
        settings, catalog, hierarchy, monkeypatch, list(BACKLOG), fail_at=(0, 2), backlog={0: 4, 1: 2},
        gate_second_read=False,
    )  # fmt: skip
    assert fake.opened == [[2, 2, 2]] and fake.rolled_back == 1
    assert fake.calls == []  # nothing committed: the three batches are read again
    assert consumer.seeks == {P0: 0, P1: 0}  # the first offsets of the whole transaction, not of its last batch
    assert consumer.commits == []


async def test_a_batch_with_amendments_joins_the_transaction_like_any_other(settings, catalog, hierarchy, monkeypatch):
    # amend.judge judges every amendment of the transaction after its fold, in offset order (an original at a later
    # offset of its partition counts as not applied yet): tests/integration/test_aggregator_amendments.py
    amending = dict(BACKLOG[1])
    amending[P0] = [record(0, 2, corrects=str(uuid.uuid4()))]
    script = [BACKLOG[0], amending, BACKLOG[2]]
    letters: list[tuple[Any, list[str]]] = []
    _, fake = await run(
        settings, catalog, hierarchy, monkeypatch, script, backlog={0: 4, 1: 4, 2: 4}, gate_second_read=False,
        letters=letters,
    )  # fmt: skip
    assert [len(t) for t in fake.opened] == [3]  # before, batch 1 (with a correction) ended the transaction
    assert fake.calls == [{0: 3, 1: 3}]
    # refused at the commit, after batch 2 joined: its record is found in batch 1
    assert [(r.partition, r.offset, errors) for r, errors in letters] == [(0, 2, ["unknown_original: test"])]


async def test_a_batch_read_before_a_rebalance_is_dropped(settings, catalog, hierarchy, monkeypatch):
    # a backlog, so batch 1 is read ahead while batch 0 is prepared; the rebalance happens during that read: batch 0
    # was read before it (its partitions are sought back to the stored offsets) and is never applied
    _, fake = await run(
        settings, catalog, hierarchy, monkeypatch, list(BACKLOG), backlog={0: 4, 1: 2}, gate_second_read=False,
        rebalance_at=1,
    )  # fmt: skip
    assert fake.opened == [[2, 2]]  # batches 1 and 2, not batch 0
    assert fake.calls == [{0: 3, 1: 3}]
