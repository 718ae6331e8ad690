"""A real aggregator process killed after the database commit of a batch holding corrections and retractions and
before that batch's Kafka offset commit; restarted (and the amendments sent again): the totals are exact."""

import signal
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.adapters.kafka import consumer_kwargs, group_id
from shared.settings import Settings
from testing.processes import ServiceProcess, free_port
from tests.e2e.test_aggregator_faults import assert_totals, workload
from tests.integration.test_aggregator_harness import LEVEL4, SATISFACTION, fetch, send
from tests.support.env import eventually


def aggregator(settings: Settings, group: str, **extra: str) -> ServiceProcess:
    port = free_port()
    env = {"DX_AGGREGATOR_METRICS_PORT": str(port), "DX_AGGREGATOR_GROUP": group, **extra}
    return ServiceProcess("aggregator", settings, f"http://127.0.0.1:{port}/healthz", env)


def amend(events: list[dict[str, Any]], expected: dict[str, tuple[int, int]]) -> tuple[list[dict[str, Any]], Any]:
    """Retract every tenth increment and correct each commune's latest snapshot to 1/1; the new expected totals."""
    amendments: list[dict[str, Any]] = []
    num, den = expected[SATISFACTION]
    latest: dict[str, dict[str, Any]] = {}
    for i, e in enumerate(events):
        if e["indicator"] == SATISFACTION and i % 10 == 0:
            amendments.append({**{k: e[k] for k in ("indicator", "unit", "source", "received_at")},
                               "observed_at": "2026-11-30T08:00:00+07:00", "event_id": str(uuid.uuid4()),
                               "retracts": e["event_id"]})  # fmt: skip
            num, den = num - e["numerator"], den - e["denominator"]
        elif e["indicator"] == LEVEL4 and (
            e["unit"] not in latest or e["observed_at"] > latest[e["unit"]]["observed_at"]
        ):
            latest[e["unit"]] = e
    for e in latest.values():
        amendments.append({**e, "event_id": str(uuid.uuid4()), "corrects": e["event_id"], "numerator": 1,
                           "denominator": 1})  # fmt: skip
    return amendments, {SATISFACTION: (num, den), LEVEL4: (len(latest), len(latest))}


async def stored(settings: Settings, group: str) -> dict[int, int]:
    rows = await fetch(settings, "SELECT partition, next_offset FROM consumer_offsets WHERE consumer_group = $1",
                       group_id(settings, group))  # fmt: skip
    return {r["partition"]: r["next_offset"] for r in rows}


async def kafka_committed(settings: Settings, group: str, partitions: list[int]) -> dict[int, int]:
    consumer = AIOKafkaConsumer(**consumer_kwargs(settings, group))
    await consumer.start()
    try:
        found = {p: await consumer.committed(TopicPartition(settings.topic_events, p)) for p in partitions}
        return {p: o or 0 for p, o in found.items()}
    finally:
        await consumer.stop()


async def amendments_applied(settings: Settings, n: int) -> bool:
    rows = await fetch(
        settings, "SELECT count(*) AS n FROM applied_events WHERE corrects IS NOT NULL OR retracts IS NOT NULL"
    )
    return bool(rows[0]["n"] == n)


async def test_killed_between_the_database_commit_of_amendments_and_the_kafka_commit_then_exact(isolated):
    events, expected = workload(1000, seed=5)
    amendments, expected = amend(events, expected)
    group = f"aggregator-amend-kill-{uuid.uuid4().hex[:8]}"
    # rollups to a topic that does not exist (and is never created): after each database commit the process waits
    # for its metadata, so the Kafka offset commit that follows the notifications has not happened when it is killed
    plain = aggregator(isolated, group).start()
    try:
        await send(isolated, events)
        await eventually(lambda: _offsets_reach(isolated, group, len(events)), timeout=120)
    finally:
        plain.stop()
    first = aggregator(isolated, group, DX_TOPIC_ROLLUPS=f"dx.absent.{uuid.uuid4().hex[:8]}").start()
    try:
        await send(isolated, amendments)
        await eventually(lambda: amendments_applied(isolated, len(amendments)), timeout=120)
        first.kill(signal.SIGKILL)
    finally:
        first.kill()
    in_db = await stored(isolated, group)
    in_kafka = await kafka_committed(isolated, group, sorted(in_db))
    assert any(in_kafka[p] < o for p, o in in_db.items()), (in_db, in_kafka)  # the kill fell in the window
    second = aggregator(isolated, group).start()
    try:
        await send(isolated, amendments)  # and every amendment again
        await eventually(lambda: _refused(isolated, len(amendments)), timeout=120)
    finally:
        second.stop()
    assert await amendments_applied(isolated, len(amendments))
    await assert_totals(isolated, expected)


async def _refused(settings: Settings, n: int) -> bool:
    rows = await fetch(settings, "SELECT count(*) AS n FROM event_refusals WHERE reason LIKE 'duplicate%'")
    return bool(rows[0]["n"] == n)


async def _offsets_reach(settings: Settings, group: str, n: int) -> bool:
    return sum((await stored(settings, group)).values()) == n
