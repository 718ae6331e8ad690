"""The consume loop: batches from dx.events.v1, dead letters, transactions of one or more batches, notifications.

Pipelined one deep: batch n+1 is fetched and prepared (decoded, staged and summed, in a worker process by default)
while batch n is added to its transaction (PostgreSQL). A transaction commits with its batch unless a full batch
more is waiting: then, within `aggregator_transaction_events`, `aggregator_transaction_series_days` and
`aggregator_transaction_seconds`, the next batches join it, so the rollup work of a backlog is done once per
transaction rather than once per batch (the values are those of one big batch; bench/README.md has the figures).
Live traffic never waits: a batch that leaves less than a full batch behind commits at once, unless the previous
transaction's commit is still going on (its commit would wait for that one): then the batches read meanwhile join
it and commit together once the previous one has (group commit, `commit_now`; a read that finds nothing meanwhile
keeps it open, `keep_open`). A backlog's transaction takes the events still waiting once less than a full batch is
(`takes_tail`), so the end of a backlog is folded once.
A transaction's commit (its fold: the rollup SQL, ~a third of a backlog's time) goes on beside the next
transaction's first batches, which only insert events on a second connection; the next commit waits for it, so
transactions commit strictly in order and each fold sees every earlier one. When a step fails, its transaction and
every later one are rolled back, the batch read meanwhile is dropped unapplied, and every partition of them is
rewound to its first offset in them, so no later offset is ever stored past a failure.

Why aiokafka directly and not a FastStream subscriber: the offsets live in PostgreSQL, so the rebalance listener
must seek the consumer it belongs to; a failed transaction must seek every partition of the batch back (FastStream's
ack policies either auto-commit or, with ACK, let a later commit skip a failed message); the dead-letter record needs
each message's raw bytes, partition and offset; and per-message wrappers cost throughput. The Kafka commit after the
database commit is best effort, for lag tools only: the database offsets are the truth.
"""

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from services.aggregator import store
from services.aggregator.amend import Refusal
from services.aggregator.apply import BeforeInsert, Refuse, Staged, Transaction, refresh_increments, stage
from services.aggregator.decode import Decoder, code_of
from services.aggregator.fold import Planner
from services.aggregator.metrics import AggregatorMetrics
from services.aggregator.prepare import Part, Prepared
from services.aggregator.settings import AggregatorSettings
from services.aggregator.workers import Preparer
from shared.adapters.kafka import group_id
from shared.adapters.lag import record_position_lag, unread
from shared.adapters.retry import Backoff
from shared.contracts.deadletter import deadletter_headers, deadletter_value
from shared.contracts.rollups import rollup_key, rollup_value
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.domain.timeutil import local_date

log = logging.getLogger("dxmon.aggregator")


Records = dict[TopicPartition, list[Any]]
# The longest wait for more events while a transaction is held open (commit_now): nothing more, and it commits.
HELD_WAIT_MS = 20


@dataclass
class Batch:
    """One getmany's records, prepared: what the transaction applies, the poison, where each partition starts."""

    records: Records
    staged: Staged
    poison: list[tuple[Any, list[str]]]


@dataclass
class Read:
    """One getmany's records and their preparation under way."""

    records: Records
    tps: list[TopicPartition]  # in partition order, as the parts
    parts: list[Part]
    now: datetime
    prepared: "asyncio.Future[Prepared]"
    generation: int  # Aggregator.generation when read: a rebalance since makes it stale


@dataclass
class Open:
    """The transaction batches are being added to, and the offsets it spans."""

    tx: Transaction
    started: float  # time.monotonic() of its first batch
    first: dict[TopicPartition, int] = field(default_factory=dict)  # each partition's first offset in it
    next: dict[TopicPartition, int] = field(default_factory=dict)  # each partition's next offset after it
    events: int = 0
    held: bool = False  # kept open by live traffic's last batch while the previous commit goes on (commit_now)
    backlog: bool = False  # a batch joined it because a full batch more was waiting
    tail: int | None = None  # a backlog's: the events still to join it, counted once less than a batch waited
    amendments: dict[tuple[int, int], Any] = field(default_factory=dict)  # (partition, offset) → record, to refuse

    def add(self, batch: Batch) -> None:
        for tp, records in batch.records.items():
            self.first.setdefault(tp, records[0].offset)
            self.next[tp] = records[-1].offset + 1
        self.events += batch.staged.prepared.rows
        if batch.staged.prepared.amendments:  # judged at the commit, whichever batch of the transaction held them
            by_offset = {tp.partition: {r.offset: r for r in records} for tp, records in batch.records.items()}
            for partition, offset, _ in batch.staged.prepared.amendments:
                self.amendments[(partition, offset)] = by_offset[partition][offset]


@dataclass
class InFlight:
    open: Open
    task: "asyncio.Task[None]"
    committed: asyncio.Event  # set when the step has ended (batch added, transaction committed, or failed)
    commits: bool = False  # the step ends with the transaction's commit


class Aggregator:
    def __init__(
        self,
        settings: AggregatorSettings,
        catalog: Catalog,
        hierarchy: Hierarchy,
        pool: Any,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        metrics: AggregatorMetrics,
        preparer: Preparer | None = None,
    ) -> None:
        self.settings, self.catalog, self.hierarchy = settings, catalog, hierarchy
        self.pool, self.consumer, self.producer, self.metrics = pool, consumer, producer, metrics
        self.months = store.EventMonths()  # applied_events' months known to exist
        self.last_refresh = 0.0
        self.preparer = preparer or Preparer(
            Decoder(catalog, hierarchy), settings.catalog_path, settings.units_dir, in_worker=False
        )
        self.planner = Planner(catalog, hierarchy)
        self.in_flight: InFlight | None = None
        self.committing: InFlight | None = None  # a commit going on beside the next transaction's batches
        self.open: Open | None = None  # the transaction the next batch joins, if it stays open
        self.generation = 0  # rebalances so far (drain)
        self.backoff = Backoff("batch transaction", log, cap=settings.aggregator_retry_seconds)
        self.failure: Exception | None = None
        self.finishing: asyncio.Task[None] | None = None  # the last commit's acks and Kafka commit (after it)

    async def run(self, stop: asyncio.Event) -> None:
        ahead: Read | None = None  # the next batch, read and handed to the preparer while this one is staged
        if self.refresh_due():  # at start, before any transaction: after a restart into a backlog, the first
            await self.refresh()  # refresh came once the first one was committing and waited for it (~2 s)
        try:
            while not stop.is_set():
                current, ahead = ahead or await self.read(), None
                if current is not None and await self.waiting() >= self.settings.aggregator_max_records:
                    ahead = await self.read()  # a backlog: keep the preparer busy (it takes this right after current)
                batch = await self.staged(current) if current is not None else None
                if not await self.settle(batch, ahead):
                    ahead = None
                    await asyncio.sleep(self.backoff.failed(self.failure or RuntimeError("batch failed")))
                    continue
                if self.open is None and self.refresh_due():
                    if not await self.settle(batch, ahead, overlap=False):  # it locks series: nothing beside it
                        ahead = None
                        await asyncio.sleep(self.backoff.failed(self.failure or RuntimeError("batch failed")))
                        continue
                    await self.refresh()
                if batch is not None and current is not None and current.generation != self.generation:
                    batch = None  # read before a rebalance that sought its partitions back to the stored offsets
                if batch is not None:
                    waiting = 0 if ahead is not None else await self.waiting()
                    more = ahead is not None or waiting >= self.settings.aggregator_max_records
                    self.launch(batch, commit=stop.is_set() or self.commit_now(batch, more, waiting))
                    if self.open is not None:
                        self.open.held = not more  # open only for the commit going on: the next read waits little
                        if more:
                            self.open.backlog, self.open.tail = True, None
                elif self.open is not None and not self.keep_open():  # nothing more came: commit what is open
                    self.launch(None, commit=True)
                await self.update_lag()
        finally:
            await self.settle(None, overlap=False)
            if self.open is not None:
                self.launch(None, commit=True)
                await self.settle(None, overlap=False)
            if ahead is not None:  # read, never applied: its offsets were not stored, so it is read again
                await asyncio.wait([ahead.prepared])
            if self.finishing is not None:
                await self.finishing

    async def read(self) -> "Read | None":
        """One getmany, handed to the preparer at once (decoded, staged and summed in the worker process while the
        loop goes on)."""
        s = self.settings
        held = self.open is not None and (self.open.held or self.commit_going_on())
        wait = min(s.aggregator_batch_timeout_ms, HELD_WAIT_MS) if held else s.aggregator_batch_timeout_ms
        records = await self.consumer.getmany(timeout_ms=wait, max_records=s.aggregator_max_records)
        if not records:
            return None
        tps = sorted(records, key=lambda t: t.partition)
        parts = [Part(tp.partition, [r.offset for r in records[tp]], [r.value for r in records[tp]]) for tp in tps]
        prepared = asyncio.ensure_future(self.preparer(parts))
        return Read(records, tps, parts, datetime.now(UTC), prepared, self.generation)

    async def staged(self, read: "Read") -> Batch:
        """The batch once prepared, with its plan (CPU work that overlaps the transaction in flight)."""
        prepared = await read.prepared
        poison = [(read.records[read.tps[p]][i], errors) for p, i, errors in prepared.poison]
        return Batch(read.records, stage(prepared, read.now, self.planner, self.today()), poison)

    def commit_now(self, batch: Batch, more: bool, waiting: int = 0) -> bool:
        """Whether the transaction commits with this batch. It does once it reached its size or age; before that,
        not while a full batch `more` is waiting (a backlog), nor while the previous transaction's commit is still
        going on: its commit would wait for that one anyway, so the batches read meanwhile join it and their values
        are folded once (a fold has a fixed cost, the province's and districts' values: ~0.4 s on the benchmark's
        machine, bench/README.md). Nor while a backlog's transaction has not taken the `waiting` events its backlog
        ended with (`takes_tail`). Otherwise (live traffic, nothing to wait for) it commits at once."""
        s, joined = self.settings, self.open
        full = joined is not None and (
            joined.events + batch.staged.prepared.rows >= s.aggregator_transaction_events
            or joined.tx.series_days + len(batch.staged.todo.daily) >= s.aggregator_transaction_series_days
            or time.monotonic() - joined.started >= s.aggregator_transaction_seconds
        )
        if full:
            return True
        if more:
            return False
        return not (self.commit_going_on() or self.takes_tail(batch, waiting))

    def takes_tail(self, batch: Batch, waiting: int) -> bool:
        """Whether a backlog's transaction stays open for the events still `waiting` once less than a batch is
        (they were there when it fell under a batch, so they join it and are folded once): at most that many more,
        counted at that moment, so live traffic that keeps arriving never holds it. Committing at that moment left
        the last few thousand events of a 200,000-event backlog to a transaction of their own, with the fold's
        fixed cost (0.6-0.8 s, bench/README.md)."""
        joined = self.open
        if joined is None or not joined.backlog or waiting <= 0:
            return False
        if joined.tail is None:
            joined.tail = waiting
            return True
        joined.tail -= batch.staged.prepared.rows
        return joined.tail > 0

    def keep_open(self) -> bool:
        """Whether the open transaction stays open after a read that found nothing: while the previous commit goes
        on, its commit would only wait for that one, and a batch that comes meanwhile still joins it (reads wait
        HELD_WAIT_MS meanwhile, so it commits soon after that one). Committing at the first empty read left the end
        of a backlog in three transactions, each with the fold's fixed cost (0.70 and 0.41 s after a 1.72 s one for
        200,000 events, bench/README.md). Its age still bounds it."""
        joined = self.open
        return (
            joined is not None
            and self.commit_going_on()
            and time.monotonic() - joined.started < self.settings.aggregator_transaction_seconds
        )

    def commit_going_on(self) -> bool:
        """Whether the previous transaction's commit is still going on beside the loop."""
        return self.committing is not None and not self.committing.task.done()

    async def waiting(self) -> int:
        """Events in the partitions being consumed that were not handed out yet, up to the last stable offset (the
        consumer reads committed records only; a caught-up partition may still show its transaction markers). A
        partition not fetched from yet counts as a full batch waiting: the transaction's age still bounds the wait."""
        total = 0
        async for _, count in unread(self.consumer, skip=self.consumer.paused()):  # paused: rebalance.py
            total += self.settings.aggregator_max_records if count is None else count
        return total

    def launch(self, batch: Batch | None, commit: bool) -> None:
        """Add `batch` to the open transaction (opened if none is) in a task, then commit it if `commit` (after the
        commit going on beside it, if any)."""
        joined = self.open or Open(Transaction(self.pool, self.catalog, self.hierarchy, self.months), time.monotonic())
        self.open = None if commit else joined
        if batch is not None:
            joined.add(batch)
        committed, before = asyncio.Event(), self.committing
        task = asyncio.create_task(self.step(joined, batch, commit, committed, before))
        self.in_flight = InFlight(joined, task, committed, commit)

    async def settle(self, next_batch: Batch | None, ahead: "Read | None" = None, overlap: bool = True) -> bool:
        """Wait for the step in flight, except a commit, which (with `overlap`) goes on beside the next batches
        while the one before it is done. If a step failed, its transaction was rolled back: roll back every later
        one, rewind every partition of them, of `next_batch` and of the batch read `ahead` to its first offset, drop
        them (the loop then waits as the shared failure policy says, shared/adapters/retry.py, and never skips)."""
        flight, self.in_flight = self.in_flight, None
        ended: list[InFlight] = []
        if flight is not None and flight.commits and overlap:
            if self.committing is not None:
                ended.append(self.committing)  # at most one commit beside the loop
            self.committing = flight
        elif flight is not None:
            ended.append(flight)
        if self.committing is not None and (not overlap or self.committing.task.done()):
            ended.insert(0, self.committing)
            self.committing = None
        failed = [f for f in ended if not await self._succeeded(f)]
        if not failed:
            return True
        going_on, self.committing = self.committing, None
        if going_on is not None and not await self._succeeded(going_on):  # a later one fails with the failed one
            failed.append(going_on)
        if self.open is not None and all(self.open is not f.open for f in failed):
            await self.open.tx.rollback()  # batches added beside the failed commit
        later = [f.open for f in failed] + ([self.open] if self.open is not None else [])
        self.open = None
        rewind: dict[TopicPartition, int] = {}
        starts = [o.first for o in later]
        starts += [{tp: recs[0].offset for tp, recs in b.records.items()} for b in (next_batch, ahead) if b is not None]
        for first in starts:
            for tp, offset in first.items():
                rewind[tp] = min(offset, rewind.get(tp, offset))
        if ahead is not None:
            await asyncio.wait([ahead.prepared])  # its result is dropped
        for tp, offset in rewind.items():
            if tp in self.consumer.assignment():
                self.consumer.seek(tp, offset)
        return False

    async def _succeeded(self, flight: InFlight) -> bool:
        try:
            await flight.task
            self.backoff.succeeded()
            return True
        except Exception as err:  # logged by the backoff, once per run of failures
            self.failure = err
            return False

    async def drain(self) -> None:
        """For the rebalance listener: until the step in flight has ended and the open transaction (if any) has
        committed, so that the next owner of a revoked partition finds its offsets stored. If that commit fails, the
        partitions assigned next are sought to the stored offsets (SeekToStored; aiokafka's rebalances revoke and
        reassign every partition), so nothing is skipped."""
        self.generation += 1  # batches read before now are stale: the partitions are sought to the stored offsets
        for flight in (self.committing, self.in_flight):
            if flight is not None:
                await flight.committed.wait()
        joined, self.open = self.open, None  # a step that failed has closed it already
        if joined is not None:
            try:
                await self.step(joined, None, True, asyncio.Event(), self.committing)
            except Exception:
                log.exception("commit before a rebalance failed; the partitions continue from the stored offsets")

    async def step(
        self, joined: Open, batch: Batch | None, commit: bool, ended: asyncio.Event, before: InFlight | None = None
    ) -> None:
        """Add `batch` and commit if `commit`; `before` is the previous transaction's commit, if still going on."""
        try:
            if batch is not None:
                if batch.poison:
                    await self.deadletter(batch.poison, batch.staged.now)
                self.metrics.batch_size.observe(batch.staged.prepared.rows + len(batch.poison))
                hook = self.unless_amended_there(before, batch.staged.prepared.ids)
                await joined.tx.add(batch.staged, before_insert=hook)
            if not commit:
                return
            if before is not None:
                await before.task  # commits in order; its failure fails this transaction too
            offsets = store.Offsets(
                group_id(self.settings, self.settings.aggregator_group), self.settings.topic_events,
                {tp.partition: offset for tp, offset in joined.next.items()},
            )  # fmt: skip
            result = await joined.tx.commit(offsets, self.refuser(joined, batch))
        except BaseException:
            if self.open is joined:
                self.open = None
            await joined.tx.rollback()
            raise
        finally:
            ended.set()
        done = time.time()
        self.metrics.transaction_seconds.observe(time.monotonic() - joined.started)
        self.metrics.applied.inc(result.applied)
        self.metrics.duplicates.inc(result.duplicates)
        for received_at, events in result.received.items():
            self.metrics.e2e_latency.observe(max(0.0, done - received_at.timestamp()), events)
        acks = await self.send_rollups(result.changed)
        self.finishing = asyncio.create_task(self.finish(self.finishing, acks, dict(joined.next)))

    async def finish(
        self, previous: "asyncio.Task[None] | None", acks: list[Any], offsets: dict[TopicPartition, int]
    ) -> None:
        """Off the loop's critical path, in commit order: wait for the rollups' acks, then commit the offsets to
        Kafka. The notifications were handed to the producer in commit order, so each key's order holds."""
        if previous is not None:
            await asyncio.wait([previous])
        try:
            await self.rollups_acked(acks)
            await self.commit_kafka(offsets)
        except Exception:
            log.exception("after the commit: notifications or Kafka offset commit failed (the database has both)")

    async def deadletter(self, poison: list[tuple[Any, list[str]]], now: datetime) -> None:
        """Publish every poison message and wait for the acks before the offsets can move past them."""
        futures = []
        for record, errors in poison:
            value = deadletter_value(
                errors, service="aggregator", topic=record.topic, partition=record.partition,
                offset=record.offset, original=record.value, now=now,
            )  # fmt: skip
            futures.append(
                await self.producer.send(
                    self.settings.topic_deadletter, value, key=record.key, headers=deadletter_headers(errors)
                )
            )
            log.warning("dead-lettered %s[%d]@%d: %s", record.topic, record.partition, record.offset, errors[0])
        await asyncio.gather(*futures)
        for _, errors in poison:
            self.metrics.deadlettered.labels(reason=code_of(errors)).inc()

    @staticmethod
    def unless_amended_there(before: InFlight | None, ids: Iterable[int] = ()) -> BeforeInsert | None:
        """For a batch added beside the previous transaction's commit: if it holds an event whose (source,
        event_id) is one of that commit's corrections or retractions, wait for the commit before inserting it (the
        commit inserts the amendment's row; had this uncommitted insert taken the key first, each would wait for
        the other). Otherwise nothing it inserts can be waited for by that commit.
        Likewise when it holds an event_id (`ids`, prepare.id_key) of an event that transaction inserted: its
        uncommitted row is invisible to this insert's check (sql.INSERT_EVENTS), and a copy received at another
        moment has another key in the partitioned table, so it would be counted twice."""
        if before is None:
            return None
        if before.open.tx.shares_ids(ids):

            async def wait_for_commit(conn: Any) -> None:
                if not before.task.done():
                    await asyncio.wait([before.task])

            return wait_for_commit
        keys = before.open.tx.amendment_keys()
        if not keys:
            return None

        async def wait_if_shared(conn: Any) -> None:
            if not before.task.done() and await store.stages_any(conn, keys):
                await asyncio.wait([before.task])

        return wait_if_shared

    def refuser(self, joined: Open, batch: Batch | None) -> Refuse:
        """Dead-letters the transaction's refused corrections and retractions, of any of its batches (inside it,
        before the offsets move past them; a failed transaction replays them, so a dead letter may repeat, as for
        poison)."""
        now = batch.staged.now if batch is not None else datetime.now(UTC)

        async def refuse(refused: list[Refusal]) -> None:
            await self.deadletter([(joined.amendments[(r.partition, r.offset)], r.errors) for r in refused], now)

        return refuse

    async def send_rollups(self, changed: Iterable[Any]) -> list[Any]:
        """Hand dx.rollups.v1 messages to the producer (after the commit); returns their ack futures. A lost
        notification only delays the alerter (it also polls)."""
        futures = []
        try:
            for row in changed:
                key = rollup_key(row["indicator"], row["unit"])
                futures.append(await self.producer.send(self.settings.topic_rollups, rollup_value(row), key=key))
        except KafkaError:
            log.exception("rollup notifications not published")
        return futures

    async def rollups_acked(self, futures: list[Any]) -> None:
        try:
            await asyncio.gather(*futures)
        except KafkaError:
            log.exception("rollup notifications not published")

    async def commit_kafka(self, offsets: dict[TopicPartition, int]) -> None:
        try:
            await self.consumer.commit(offsets)
        except KafkaError as err:
            log.info("Kafka offset commit skipped (the database holds the offsets): %s", err)

    async def update_lag(self) -> None:
        await record_position_lag(self.metrics.lag, self.settings.aggregator_group, self.consumer)

    def refresh_due(self) -> bool:
        return time.monotonic() - self.last_refresh >= self.settings.aggregator_refresh_seconds

    async def refresh(self) -> None:
        """Increment values drift as days leave the 365-day window: re-evaluate them (when `refresh_due`)."""
        self.last_refresh = time.monotonic()
        try:
            changed = await refresh_increments(self.pool, self.catalog, self.hierarchy, self.today())
            await self.rollups_acked(await self.send_rollups(changed))
        except Exception:
            log.exception("refresh of increment values failed; will retry")

    @staticmethod
    def today() -> date:
        return local_date(datetime.now(UTC))
