"""One run of one connector: claim its lease (and tick), fetch, deliver, advance, release; or a dry run.

The lease is renewed in the background while the run works; if it is lost the run is cancelled and counts as
`lost` (what it sent is harmless: its event ids make a re-run's events duplicates).
"""

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaProducer

from dx.client import CollectorClient, CollectorError
from services.pull import store
from services.pull.config import Connector
from services.pull.delivery import Delivery
from services.pull.kinds.base import Cursor, Kind, SourceError, Tally
from services.pull.kinds.files import FilesSource
from services.pull.kinds.http import HttpSource
from services.pull.kinds.sql import SqlSource
from services.pull.mapping import Mapped
from services.pull.metrics import PullMetrics
from services.pull.schedule import backoff
from services.pull.settings import PullSettings
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy

log = logging.getLogger("dxmon.pull")


def kind_of(connector: Connector) -> Kind:
    kinds: dict[str, type[HttpSource] | type[FilesSource] | type[SqlSource]] = {
        "http": HttpSource, "files": FilesSource, "sql": SqlSource,
    }  # fmt: skip
    return kinds[connector.spec.kind](connector)


@dataclass
class LiveContext:
    """What a real run offers its kind: delivery to the collector and fenced writes under the lease."""

    connector: Connector
    catalog: Catalog
    hierarchy: Hierarchy
    now: datetime
    cursor: Cursor
    tally: Tally
    pool: asyncpg.Pool
    holder: str
    delivery: Delivery
    dry_run: bool = False

    async def deliver(self, items: list[Mapped], where: str) -> list[Mapped]:
        return await self.delivery.deliver(items, where)

    async def save_cursor(self, cursor: Cursor) -> None:
        async with self.pool.acquire() as conn:
            await store.save_cursor(conn, self.connector.name, self.holder, cursor)
        self.cursor = cursor

    async def file_seen(self, sha256: str) -> asyncpg.Record | None:
        async with self.pool.acquire() as conn:
            return await store.file_seen(conn, self.connector.name, sha256)

    async def file_done(self, sha256: str, path: Path, outcome: str, counts: tuple[int, int, int]) -> None:
        async with self.pool.acquire() as conn:
            await store.file_done(conn, self.connector.name, self.holder, sha256, path.name, outcome, counts)


@dataclass
class DryContext:
    """`dx connectors test`: fetch and map from the stored cursor, send nothing, store nothing, move nothing."""

    connector: Connector
    catalog: Catalog
    hierarchy: Hierarchy
    now: datetime
    cursor: Cursor
    tally: Tally = field(default_factory=Tally)
    pool: asyncpg.Pool | None = None
    dry_run: bool = True

    async def deliver(self, items: list[Mapped], where: str) -> list[Mapped]:
        refused = [m for m in items if m.event is None]
        self.tally.preview += [m.event for m in items if m.event is not None]
        self.tally.accepted += len(items) - len(refused)
        self.tally.rejected += len(refused)
        self.tally.errors += [(where, e) for m in refused for e in m.errors]
        return refused

    async def save_cursor(self, cursor: Cursor) -> None:
        self.cursor = cursor

    async def file_seen(self, sha256: str) -> asyncpg.Record | None:
        if self.pool is None:
            return None
        async with self.pool.acquire() as conn:
            return await store.file_seen(conn, self.connector.name, sha256)

    async def file_done(self, sha256: str, path: Path, outcome: str, counts: tuple[int, int, int]) -> None:
        return None


@dataclass(frozen=True)
class RunResult:
    outcome: str  # ok, failed, lost
    tally: Tally
    error: str | None


class Runner:
    def __init__(
        self,
        settings: PullSettings,
        catalog: Catalog,
        hierarchy: Hierarchy,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        metrics: PullMetrics,
        holder: str,
    ) -> None:
        self.settings, self.catalog, self.hierarchy = settings, catalog, hierarchy
        self.pool, self.producer, self.metrics, self.holder = pool, producer, metrics, holder

    async def run(self, connector: Connector, tick: datetime | None) -> RunResult | None:
        """Run `tick` (None: now, whatever the schedule) if this process can claim it; None if it cannot."""
        name, lease_s = connector.name, self.settings.pull_lease_seconds
        async with self.pool.acquire() as conn:
            claim = await store.claim(conn, name, self.holder, tick, lease_s)
            if claim is None:
                return None
            run_id = await store.run_started(conn, name, tick, self.holder)
        tally, started, error, outcome = Tally(), time.monotonic(), None, "ok"
        work = asyncio.create_task(self._work(connector, claim.cursor, tally), name=f"pull-{name}")
        keeper = asyncio.create_task(self._keep_lease(name, work), name=f"pull-lease-{name}")
        try:
            await work
        except asyncio.CancelledError:
            if not keeper.done():
                raise  # the service is stopping: the lease expires and another process retakes the tick
            outcome, error = "lost", "the lease was lost during the run"
        except store.LeaseLost as err:
            outcome, error = "lost", str(err)
        except (SourceError, CollectorError, OSError, TimeoutError, asyncpg.PostgresError) as err:
            outcome, error = "failed", str(err) or type(err).__name__
        except Exception as err:  # a defect: the run fails (and backs off) instead of holding the lease to expiry
            log.exception("connector %s: unexpected error", name)
            outcome, error = "failed", f"unexpected {type(err).__name__}"
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        return await self._finish(connector, tick, run_id, outcome, tally, error, time.monotonic() - started)

    async def _work(self, connector: Connector, cursor: Cursor, tally: Tally) -> None:
        async with CollectorClient(self.settings.pull_collector_url, connector.token.get_secret_value(),
                                   timeout=connector.timeout_s, max_attempts=4) as client:  # fmt: skip
            counted = self.metrics.deadlettered.labels
            delivery = Delivery(connector.name, client, self.producer, self.settings.topic_deadletter,
                                self.settings.pull_batch, tally, lambda reason: counted(reason).inc())  # fmt: skip
            ctx = LiveContext(connector, self.catalog, self.hierarchy, datetime.now(UTC), cursor, tally, self.pool,
                              self.holder, delivery)  # fmt: skip
            await kind_of(connector).run(ctx)

    async def _keep_lease(self, name: str, work: "asyncio.Task[None]") -> None:
        lease_s = self.settings.pull_lease_seconds
        while True:
            await asyncio.sleep(lease_s / 3)
            try:
                async with self.pool.acquire() as conn:
                    held = await store.renew(conn, name, self.holder, lease_s)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                continue  # try again; if the database stays away the lease runs out and the fence refuses writes
            if not held:
                work.cancel()
                return

    async def _finish(
        self, connector: Connector, tick: datetime | None, run_id: int, outcome: str, tally: Tally,
        error: str | None, seconds: float,
    ) -> RunResult:  # fmt: skip
        name, m = connector.name, self.metrics
        m.duration.labels(name).observe(seconds)
        m.fetched.labels(name).inc(tally.fetched)
        m.accepted.labels(name).inc(tally.accepted)
        m.rejected.labels(name).inc(tally.rejected)
        async with self.pool.acquire() as conn:
            failures = await store.failures(conn, name) + 1
            retry_s = backoff(failures, self.settings.pull_backoff_base_seconds, self.settings.pull_backoff_max_seconds)
            released = await store.finish(conn, name, self.holder, tick, error if outcome != "ok" else None, retry_s)
            if outcome == "ok" and not released:
                outcome, error = "lost", "the lease was lost before the run was recorded"
            await store.run_finished(conn, run_id, outcome, tally.counts(), error)
        m.runs.labels(name, outcome).inc()
        for where, e in tally.errors:
            log.warning("connector %s: %s row %d: %s: %s", name, where, e.row, e.field, e.reason)
        if outcome == "ok":
            m.last_success.labels(name).set(time.time())
            m.failures.labels(name).set(0)
            log.info("connector %s: fetched %d, accepted %d, rejected %d in %.1f s", name, *tally.counts(), seconds)
        else:
            if outcome == "failed":  # a lost run changed nothing: the stored failures are the holder's to count
                m.failures.labels(name).set(failures)
            log.error("connector %s: run %s: %s; next attempt in %.0f s", name, outcome, error, retry_s)
        return RunResult(outcome, tally, error)
