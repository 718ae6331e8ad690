"""Infrastructure outages under real processes: the private Kafka broker SIGKILLed during HTTP load (503 while it
is down, no acknowledged event missing), and the private PostgreSQL stopped during aggregation (no offset moves
past unapplied events, the lag drains once it is back)."""

import signal
import uuid

import pytest

from shared.adapters.kafka import ensure_topics
from shared.adapters.migrate import migrate
from shared.domain.catalog import load_catalog
from shared.domain.hierarchy import load_hierarchy
from shared.settings import Settings
from tests.reliability.conftest import Tally
from tests.reliability.support import (
    Load,
    add_source,
    aggregator,
    applied_count,
    base_url,
    collector,
    fetch,
    kafka_committed,
    metrics_url,
    reconcile,
    scrape,
    send_all,
)
from tests.support.env import eventually
from tests.support.infra import PrivateInstance

pytestmark = pytest.mark.e2e


async def test_broker_killed_during_http_load_then_restarted(
    isolated: Settings, private_kafka: PrivateInstance, tally: Tally
) -> None:
    settings = isolated.model_copy(update={"kafka_bootstrap": private_kafka.bootstrap})
    await ensure_topics(settings)
    auth = await add_source(settings, "outage")
    coll = collector(settings, DX_COLLECTOR_PUBLISH_TIMEOUT_S="2").start()
    agg = aggregator(settings, f"agg-broker-{uuid.uuid4().hex[:8]}").start()
    load = Load(base_url(coll), auth, batch=40).start()
    try:
        await load.wait_acked(800)
        private_kafka.signal(signal.SIGKILL)
        tally.fault()
        acked_at_kill = len(load.acked)

        async def refused() -> bool:
            return load.statuses["503"] >= 2

        await eventually(refused, timeout=60)
        assert len(load.acked) <= acked_at_kill + load.batch  # at most the batch in flight at the kill
        private_kafka.start()
        await load.wait_acked(len(load.acked) + 800, timeout=120)
        await load.finish()
        assert coll.proc is not None and coll.proc.poll() is None and agg.proc is not None and agg.proc.poll() is None
        await reconcile(settings, load.acked, tally, timeout=180)
        tally.survived()
    finally:
        if load.task is not None and not load.task.done():
            load.task.cancel()
        agg.stop()
        coll.stop()


async def test_postgres_stopped_during_aggregation_then_started(
    isolated: Settings, private_postgres: PrivateInstance, tally: Tally
) -> None:
    settings = isolated.model_copy(update={"pg_port": private_postgres.port, "pg_database": "dxmon"})
    await migrate(settings, load_catalog(), load_hierarchy())
    group = f"agg-pg-{uuid.uuid4().hex[:8]}"
    auth = await add_source(settings, "outage")
    coll = collector(settings).start()
    agg = None
    try:
        acked = await send_all(base_url(coll), auth, 6000, seed=21, batch=200)
        # a backlog of 20 small transactions of 3 batches each (batches join while a backlog waits)
        agg = aggregator(settings, group, max_records=100, DX_AGGREGATOR_TRANSACTION_EVENTS="300").start()
        await eventually(lambda: _applied_between(settings, 1, len(acked) - 1), timeout=60)
        private_postgres.stop()
        tally.fault()
        committed = await eventually(lambda: kafka_committed(settings, group, settings.topic_events), timeout=30)

        async def retrying() -> bool:
            assert agg is not None
            return "batch transaction failing" in agg.log_tail(400)

        await eventually(retrying, timeout=30)
        assert await kafka_committed(settings, group, settings.topic_events) == committed  # nothing moved meanwhile
        private_postgres.start()

        async def drained() -> bool:
            assert agg is not None
            lag = await scrape(metrics_url(agg), "dx_consumer_lag_messages")
            return await applied_count(settings) == len(acked) and lag == 0

        await eventually(drained, timeout=180)
        restarted_at = (await fetch(settings, "SELECT pg_postmaster_start_time() AS t"))[0]["t"]
        late = await fetch(settings, "SELECT count(*) AS n FROM applied_events WHERE applied_at > $1", restarted_at)
        assert late[0]["n"] > 0  # the outage did fall in the middle of the aggregation
        assert agg.proc is not None and agg.proc.poll() is None
        # every message below an offset committed during the outage had been applied before the outage: none of
        # them was applied after the restart (and the reconciliation below finds every acknowledged event applied
        # once). The offsets also count the transaction markers of the collector's transactional producer, so
        # there are fewer events than the offset says.
        for partition, offset in committed.items():
            rows = await fetch(
                settings,
                "SELECT count(*) AS n, count(*) FILTER (WHERE applied_at > $3) AS late FROM applied_events"
                " WHERE kafka_partition = $1 AND kafka_offset < $2",
                partition,
                offset,
                restarted_at,
            )
            assert rows[0]["late"] == 0 and 0 < rows[0]["n"] <= offset, (partition, offset, dict(rows[0]))
        await reconcile(settings, acked, tally)
        tally.survived()
    finally:
        if agg is not None:
            agg.stop()
        coll.stop()


async def _applied_between(settings: Settings, low: int, high: int) -> bool:
    return low <= await applied_count(settings) <= high
