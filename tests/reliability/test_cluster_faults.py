"""Broker faults on the three-node cluster (deploy/local/kafka-cluster.sh; topics with replication 3 and
min.insync.replicas=2, producers with acks=all) under load, with every acknowledged event reconciled against
PostgreSQL: applied exactly once, nothing else applied, province and commune totals exact, the consumer lag back to
zero. The same faults on the single development broker (test_infra_outages.py) cannot test durability: a SIGKILLed
lone broker keeps its page cache and there is no second copy to lose or to serve."""

import uuid
from typing import Any

import pytest

from shared.settings import Settings
from testing.processes import ServiceProcess
from tests.reliability.conftest import Tally
from tests.reliability.support import (
    IngestLoad,
    Load,
    add_source,
    aggregator,
    base_url,
    collector,
    metrics_url,
    reconcile,
    scrape,
)
from tests.support.cluster import KafkaCluster, leaders, wait_in_sync
from tests.support.db import add_kafka_source
from tests.support.env import eventually

pytestmark = pytest.mark.e2e


def _group() -> str:
    return f"agg-cluster-{uuid.uuid4().hex[:8]}"


async def _leader(settings: Settings) -> int:
    """The node leading partition 0 of the events topic (the aggregator's input)."""
    return (await leaders(settings, settings.topic_events))[0]


async def _settle(
    settings: Settings, agg: ServiceProcess, acked: dict[str, Any], tally: Tally, *procs: ServiceProcess
) -> None:
    """Every service still running, every acknowledged event applied once, nothing left unread."""
    for proc in (agg, *procs):
        assert proc.proc is not None and proc.proc.poll() is None, proc.log_tail()
    await reconcile(settings, acked, tally, timeout=240)

    async def drained() -> bool:
        return await scrape(metrics_url(agg), "dx_consumer_lag_messages") == 0

    await eventually(drained, timeout=60)
    tally.survived()


async def test_partition_leader_sigkilled_under_http_and_ingest_load(
    cluster_isolated: Settings, kafka_cluster: KafkaCluster, tally: Tally
) -> None:
    settings, tally.cluster = cluster_isolated, True
    auth = await add_source(settings, "cluster")
    topic = await add_kafka_source(settings, "cluster-kafka")
    coll = collector(settings, DX_COLLECTOR_INGEST_ENABLED="true").start()
    agg = aggregator(settings, _group()).start()
    http = Load(base_url(coll), auth, batch=40).start()
    ingest = IngestLoad(settings, topic, batch=40).start()
    try:
        await http.wait_acked(600)
        await ingest.wait_acked(400)
        leader = await _leader(settings)
        kafka_cluster.kill(leader)
        tally.fault()

        async def moved() -> bool:
            return await _leader(settings) not in (leader, -1)

        await eventually(moved, timeout=60)
        # two replicas of three are enough: both loads go on while the killed node is down
        await http.wait_acked(len(http.acked) + 600, timeout=120)
        await ingest.wait_acked(len(ingest.acked) + 400, timeout=120)
        kafka_cluster.start(leader)
        await wait_in_sync(settings, [settings.topic_events, topic])
        await http.wait_acked(len(http.acked) + 200, timeout=120)
        await http.finish()
        await ingest.finish()
        await _settle(settings, agg, {**http.acked, **ingest.acked}, tally, coll)
    finally:
        for load in (http, ingest):
            if load.task is not None and not load.task.done():
                load.task.cancel()
        agg.stop()
        coll.stop()


async def test_two_brokers_killed_requests_refused_then_recovered(
    cluster_isolated: Settings, kafka_cluster: KafkaCluster, tally: Tally
) -> None:
    settings, tally.cluster = cluster_isolated, True
    auth = await add_source(settings, "cluster")
    coll = collector(settings).start()
    agg = aggregator(settings, _group()).start()
    load = Load(base_url(coll), auth, batch=40).start()
    try:
        await load.wait_acked(400)
        first = await _leader(settings)
        kafka_cluster.kill(first)
        tally.fault()
        await load.wait_acked(len(load.acked) + 400, timeout=120)  # one node down: still two replicas in sync
        second = next(n for n in (1, 2, 3) if n != first)
        refused_before = load.statuses["503"]
        kafka_cluster.kill(second)
        tally.fault()
        acked_at_kill = len(load.acked)

        async def refused() -> bool:
            return load.statuses["503"] >= refused_before + 5

        await eventually(refused, timeout=120)
        # one replica left, fewer than min.insync.replicas=2: nothing is acknowledged but the batch in flight
        assert len(load.acked) <= acked_at_kill + load.batch, (acked_at_kill, len(load.acked))
        kafka_cluster.start()
        await wait_in_sync(settings, [settings.topic_events])
        await load.wait_acked(len(load.acked) + 400, timeout=180)
        await load.finish()
        await _settle(settings, agg, load.acked, tally, coll)
    finally:
        if load.task is not None and not load.task.done():
            load.task.cancel()
        agg.stop()
        coll.stop()


@pytest.mark.slow  # 90-205 s: requests to the paused node wait out the producer's request timeout
async def test_broker_paused_past_its_session_timeout_then_resumed(
    cluster_isolated: Settings, kafka_cluster: KafkaCluster, tally: Tally
) -> None:
    settings, tally.cluster = cluster_isolated, True
    auth = await add_source(settings, "cluster")
    coll = collector(settings).start()
    agg = aggregator(settings, _group()).start()
    load = Load(base_url(coll), auth, batch=40).start()
    try:
        await load.wait_acked(400)
        paused = await _leader(settings)
        kafka_cluster.pause(paused)
        tally.fault()

        async def fenced() -> bool:  # broker.session.timeout.ms=4000: the controller gives its partitions away
            return await _leader(settings) not in (paused, -1)

        await eventually(fenced, timeout=60)
        await load.wait_acked(len(load.acked) + 400, timeout=120)  # served by the two others meanwhile
        kafka_cluster.resume(paused)
        await wait_in_sync(settings, [settings.topic_events])
        await load.wait_acked(len(load.acked) + 200, timeout=120)
        await load.finish()
        await _settle(settings, agg, load.acked, tally, coll)
    finally:
        if load.task is not None and not load.task.done():
            load.task.cancel()
        agg.stop()
        coll.stop()


async def test_broker_data_deleted_then_rejoins_and_serves(
    cluster_isolated: Settings, kafka_cluster: KafkaCluster, tally: Tally
) -> None:
    """The wiped node copies every partition back from the others; then another node dies, and the events (read
    by an aggregator started only now) come from the two survivors, one of them the rebuilt node."""
    settings, tally.cluster = cluster_isolated, True
    auth = await add_source(settings, "cluster")
    coll = collector(settings).start()
    load = Load(base_url(coll), auth, batch=40).start()
    agg = None
    try:
        await load.wait_acked(800)
        wiped = await _leader(settings)
        kafka_cluster.kill(wiped)
        kafka_cluster.wipe(wiped)
        tally.fault()
        await load.wait_acked(len(load.acked) + 400, timeout=120)
        kafka_cluster.start(wiped)
        await wait_in_sync(settings, [settings.topic_events])
        other = next(n for n in (1, 2, 3) if n != wiped)
        kafka_cluster.kill(other)
        tally.fault()
        await load.wait_acked(len(load.acked) + 400, timeout=120)  # the rebuilt node is one of two in sync
        await load.finish()
        agg = aggregator(settings, _group()).start()
        await _settle(settings, agg, load.acked, tally, coll)
    finally:
        if load.task is not None and not load.task.done():
            load.task.cancel()
        if agg is not None:
            agg.stop()
        coll.stop()


async def test_cluster_topics_are_replicated_three_times_with_two_in_sync_required(
    cluster_isolated: Settings, kafka_cluster: KafkaCluster
) -> None:
    """`dx topics ensure` (run by the `kafka_cluster` fixture) and the test topics both carry the production
    durability settings."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    from shared.adapters.kafka import client_kwargs

    default_names = Settings()
    admin = AIOKafkaAdminClient(**client_kwargs(cluster_isolated))
    await admin.start()
    try:
        names = [default_names.topic_events, cluster_isolated.topic_events]
        for doc in await admin.describe_topics(names):
            assert doc["error_code"] == 0, doc
            assert {len(p["replicas"]) for p in doc["partitions"]} == {3}, doc
        resources = [ConfigResource(ConfigResourceType.TOPIC, n) for n in names]
        for response in await admin.describe_configs(resources):
            for resource in response.resources:
                configs = {c[0]: c[1] for c in resource[4]}
                assert configs["min.insync.replicas"] == "2", (resource[3], configs["min.insync.replicas"])
    finally:
        await admin.close()
