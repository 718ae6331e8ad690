"""SIGKILL a real aggregator at three points of a batch, timed from outside: a table lock held by the test stops the
batch's transaction exactly where wanted (seen in pg_stat_activity), and a SIGSTOPped private broker holds it between
the database commit and the Kafka offset commit. After each kill a new process continues; every event the
collector answered 202 is applied exactly once."""

import signal
import uuid

import asyncpg
import pytest

from shared.adapters.kafka import ensure_topics
from shared.settings import Settings
from tests.reliability.conftest import Tally
from tests.reliability.support import (
    add_source,
    aggregator,
    applied_count,
    backend_waiting_on,
    base_url,
    collector,
    kafka_committed,
    metrics_url,
    reconcile,
    scrape,
    send_all,
    stored_offsets,
)
from tests.support.env import eventually
from tests.support.infra import PrivateInstance

pytestmark = pytest.mark.e2e


async def _locked(settings: Settings, table: str) -> asyncpg.Connection:
    """An open transaction holding EXCLUSIVE on `table`: writers wait, readers don't."""
    conn = await asyncpg.connect(settings.pg_dsn("owner"))
    await conn.execute("BEGIN")
    await conn.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
    return conn


async def test_sigkill_after_fetch_and_in_the_middle_of_the_write(isolated: Settings, tally: Tally) -> None:
    group = f"agg-kill-{uuid.uuid4().hex[:8]}"
    auth = await add_source(isolated, "kills")
    coll = collector(isolated).start()
    agg = aggregator(isolated, group).start()
    acked: dict[str, dict[str, object]] = {}
    try:
        url = base_url(coll)
        acked |= await send_all(url, auth, 600, seed=1)
        await eventually(lambda: _applied(isolated, len(acked)), timeout=60)

        # 1. after fetch: the batch is read from Kafka, its transaction waits to write anything (applied_events)
        # 2. mid-write: events, buckets and values written (uncommitted), the offsets not yet (consumer_offsets)
        for table in ("applied_events", "consumer_offsets"):
            sent = len(acked)
            await eventually(lambda n=sent: _applied(isolated, n), timeout=60)  # the last restart caught up
            before = await applied_count(isolated)
            lock = await _locked(isolated, table)
            try:
                acked |= await send_all(url, auth, 600, seed=len(acked))
                await eventually(lambda t=table: backend_waiting_on(isolated, t), timeout=30)
                agg.kill(signal.SIGKILL)
                tally.fault()
            finally:
                await lock.execute("ROLLBACK")
                await lock.close()
            assert await applied_count(isolated) == before  # nothing of the killed batch was committed
            agg = aggregator(isolated, group).start()
        await reconcile(isolated, acked, tally)
        tally.survived()
    finally:
        agg.stop()
        coll.stop()


async def test_sigkill_after_the_database_commit_before_the_kafka_offset_commit(
    isolated: Settings, private_kafka: PrivateInstance, tally: Tally
) -> None:
    settings = isolated.model_copy(update={"kafka_bootstrap": private_kafka.bootstrap})
    await ensure_topics(settings)
    group = f"agg-commit-{uuid.uuid4().hex[:8]}"
    auth = await add_source(settings, "kills")
    coll = collector(settings).start()
    agg = aggregator(settings, group).start()
    try:
        url = base_url(coll)
        acked = await send_all(url, auth, 500, seed=11)
        await eventually(lambda: _applied(settings, len(acked)), timeout=60)
        first = len(acked)
        before = await _settled(settings, group)  # offsets, not events: they count transaction markers too
        lock = await _locked(settings, "consumer_offsets")
        try:
            acked |= await send_all(url, auth, 500, seed=12)
            await eventually(lambda: backend_waiting_on(settings, "consumer_offsets"), timeout=30)
            private_kafka.signal(signal.SIGSTOP)  # the commit goes through; the notification and Kafka commit hang
        finally:
            await lock.execute("COMMIT")
            await lock.close()
        try:
            await eventually(lambda: _applied(settings, first + 1), timeout=30)  # the blocked batch committed
            agg.kill(signal.SIGKILL)
            tally.fault()
        finally:
            private_kafka.signal(signal.SIGCONT)
        in_db = await stored_offsets(settings, group)
        in_kafka = await eventually(lambda: kafka_committed(settings, group, settings.topic_events), timeout=30)
        at_kill = await applied_count(settings)
        assert sum(in_kafka.values()) == before < sum(in_db.values())  # killed between the two commits

        agg = aggregator(settings, group).start()
        await reconcile(settings, acked, tally)
        # the new process applied exactly the rest: what it re-read (Kafka's older offsets) was recognised as applied
        assert await scrape(metrics_url(agg), "dx_aggregator_events_applied_total") == len(acked) - at_kill
        tally.survived()
    finally:
        agg.stop()
        coll.stop()


async def _settled(settings: Settings, group: str) -> int:
    """The sum of the offsets once Kafka's committed offsets caught up with the database's (both after a batch)."""

    async def same() -> int:
        in_db = await stored_offsets(settings, group)
        in_kafka = await kafka_committed(settings, group, settings.topic_events)
        return sum(in_db.values()) if in_db and in_db == in_kafka else 0

    return int(await eventually(same, timeout=30))


async def _applied(settings: Settings, n: int) -> bool:
    return await applied_count(settings) >= n
