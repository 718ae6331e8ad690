"""Publishing to Kafka all or nothing: one request's records become visible together, or never.

Every `publish()` joins a Kafka transaction (a transactional producer, `transactional.id` unique per collector
instance; the consumers read `read_committed`, shared/adapters/kafka.py). One task owns the producer and runs the
transactions one after another; the requests that arrived while one ran form the next (group commit: one commit
serves many requests). A transaction is committed only when every record of every request in it was acknowledged
(acks=all) before the earliest deadline among them; otherwise it is never committed: the producer is replaced by a
new one with the same `transactional.id`, which makes the broker abort the open transaction (fencing), so records
still retrying in the old producer can never become visible. So a `PublishError` with `settled=True` means none of
the request's records will ever be read by the aggregator or the alerter. The one case left open is a commit whose
answer does not arrive before the deadline: the commit may still complete (`settled=False`); a retry with the same
`event_id`s is then counted once.

A bare aiokafka producer rather than FastStream's `broker.publish`: measured on this machine with 500-record
batches, FastStream with its Prometheus middleware reached 0.6-0.75x the bare producer's rate (it adds
per-message headers and a middleware chain), and `publish_batch` sends a whole batch to one partition, which
breaks `indicator:unit` partitioning. The collector's own metrics cover the publish side.
"""

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from services.collector.intake import Record
from services.collector.metrics import CollectorMetrics
from services.collector.restart import start_with_retry

log = logging.getLogger(__name__)


class PublishError(Exception):
    """The records were not committed. `settled`: they never will be; otherwise the commit's outcome is unknown."""

    def __init__(self, reason: str, *, settled: bool = True) -> None:
        super().__init__(reason)
        self.settled = settled


class Publisher(Protocol):
    async def publish(self, items: Sequence[tuple[str, Record]]) -> None: ...

    async def ready(self) -> bool: ...


class Stage(enum.Enum):
    QUEUED = 1
    SENDING = 2
    COMMITTING = 3
    ABANDONED = 4  # its deadline passed before the commit began: its transaction must not be committed


@dataclass
class _Request:
    items: Sequence[tuple[str, Record]]
    deadline: float  # loop time
    done: "asyncio.Future[None]"
    stage: Stage = Stage.QUEUED
    started: float = field(default_factory=time.perf_counter)


class KafkaPublisher:
    """`run()` owns the producer (connects, runs the transactions, replaces a failed producer); `publish()` waits."""

    def __init__(self, make_producer: Callable[[], AIOKafkaProducer], timeout: float, metrics: CollectorMetrics):
        self.make_producer = make_producer
        self.producer = make_producer()
        self.timeout = timeout
        self.metrics = metrics
        self.connected = asyncio.Event()  # set while the producer has its producer id and serves transactions
        self._queue: asyncio.Queue[_Request] = asyncio.Queue()
        self._retiring: set[asyncio.Task[None]] = set()
        self.tried = asyncio.Event()  # the first connection attempt ended (either way)
        self._bootstrapped = False  # a producer reached Kafka once

    async def publish(self, items: Sequence[tuple[str, Record]]) -> None:
        """Wait until every record of `items` is committed; PublishError otherwise (see the module's docstring)."""
        if not items:
            return
        if not self._bootstrapped:  # Kafka never reached yet; later (a producer replaced, its id pending) requests wait
            raise PublishError("Kafka is not connected yet")
        loop = asyncio.get_running_loop()
        request = _Request(items, loop.time() + self.timeout, loop.create_future())
        self._queue.put_nowait(request)
        try:
            await asyncio.wait_for(asyncio.shield(request.done), self.timeout)
        except asyncio.CancelledError:  # the client went away: commit only if the commit already began
            if request.stage is not Stage.COMMITTING:
                request.stage = Stage.ABANDONED
            raise
        except TimeoutError:
            if request.done.done():
                return request.done.result()
            if request.stage is Stage.COMMITTING:
                request.done.add_done_callback(_retrieve)
                raise PublishError("Kafka did not confirm the commit in time", settled=False) from None
            request.stage = Stage.ABANDONED  # the loop will not commit a transaction that holds it
            raise PublishError(f"Kafka did not acknowledge the records within {self.timeout:g} s") from None
        self.metrics.publish_latency.observe(time.perf_counter() - request.started)

    @property
    def reached(self) -> bool:
        """A producer reached Kafka once (its first start succeeded)."""
        return self._bootstrapped

    async def ready(self) -> bool:
        if not self.connected.is_set():
            return False
        try:
            await asyncio.wait_for(self.producer.client.fetch_all_metadata(), timeout=2.0)
        except (KafkaError, TimeoutError, OSError):
            return False
        return True

    async def run(self) -> None:
        """Connect, run transactions until one fails, replace the producer; until cancelled."""
        try:
            while True:
                try:
                    await self._serve()
                except Exception:
                    log.exception("the Kafka producer failed")
                    await asyncio.sleep(1.0)
                self.connected.clear()
                self._replace()
        finally:
            self.connected.clear()
            for request in self._drain():
                _settle(request, PublishError("the collector is stopping"))

    async def _serve(self) -> None:
        """Until a transaction is not committed: connect, then one transaction after another."""
        await start_with_retry(self._start, "Kafka producer")
        await self.producer.begin_transaction()  # waits for the producer id (InitProducerId)
        await self.producer.abort_transaction()  # an empty transaction: nothing is sent
        self.connected.set()
        log.info("Kafka producer connected (transactional)")
        while await self._transact(await self._next_batch()):
            pass

    async def _start(self) -> None:
        try:
            await self.producer.start()
        finally:
            self.tried.set()
        self._bootstrapped = True

    async def stop(self) -> None:
        await self.producer.stop()
        for task in list(self._retiring):
            await task

    async def _next_batch(self) -> list[_Request]:
        batch = [await self._queue.get(), *self._drain()]
        return [r for r in batch if r.stage is Stage.QUEUED]

    def _drain(self) -> list[_Request]:
        out = []
        while not self._queue.empty():
            out.append(self._queue.get_nowait())
        return out

    async def _transact(self, batch: list[_Request]) -> bool:
        """One transaction for `batch`; False when the producer must be replaced (the transaction not committed)."""
        if not batch:
            return True
        for r in batch:
            r.stage = Stage.SENDING
        futures: list[asyncio.Future[object]] = []
        failure: BaseException | None = None
        try:
            async with asyncio.timeout_at(min(r.deadline for r in batch)):
                await self.producer.begin_transaction()
                for r in batch:
                    for topic, rec in r.items:
                        headers = list(rec.headers) or None
                        futures.append(await self.producer.send(topic, rec.value, key=rec.key, headers=headers))
                await asyncio.wait(futures)
            failure = next((f.exception() for f in futures if f.exception() is not None), None)
        except Exception as err:  # KafkaError, the deadline, or a refusal to send (e.g. a record too large)
            failure = err
        if failure is None and any(r.stage is Stage.ABANDONED for r in batch):
            failure = TimeoutError("a request's deadline passed")
        if failure is not None:
            _forget(futures)
            reason = f"Kafka did not acknowledge every record: {type(failure).__name__}: {failure}"
            for r in batch:
                _settle(r, PublishError(reason))
            return False
        for r in batch:
            r.stage = Stage.COMMITTING
        try:
            await self.producer.commit_transaction()
        except Exception as err:  # a KafkaError is the coordinator's refusal: the transaction is aborted
            settled = isinstance(err, KafkaError)
            for r in batch:
                _settle(r, PublishError(f"Kafka refused the commit: {type(err).__name__}: {err}", settled=settled))
            return False
        for r in batch:
            _settle(r, None)
        return True

    def _replace(self) -> None:
        """A new producer with the same transactional.id: starting it fences the old one and aborts its
        open transaction; the old one is stopped in the background (its pending records may still be retrying)."""
        old, self.producer = self.producer, self.make_producer()
        log.warning("Kafka transaction not committed; replacing the producer (its transaction is aborted)")
        task = asyncio.create_task(_stop_quietly(old), name="collector-producer-retire")
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)


def _settle(request: _Request, error: PublishError | None) -> None:
    if request.done.done():
        return
    if error is None:
        request.done.set_result(None)
    else:
        request.done.set_exception(error)
        request.done.add_done_callback(_retrieve)


def _retrieve(future: "asyncio.Future[Any]") -> None:
    if not future.cancelled():
        future.exception()


async def _stop_quietly(producer: AIOKafkaProducer) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(producer.stop(), timeout=120)


def _forget(futures: list[asyncio.Future[object]]) -> None:
    """Retrieve late outcomes so that asyncio does not log 'exception was never retrieved'."""
    for future in futures:
        future.add_done_callback(_retrieve)
