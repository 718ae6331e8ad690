"""What the aggregator tells others: dx.rollups.v1 notifications after each commit, and its metrics endpoint."""

from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer

from shared.adapters.kafka import consumer_kwargs
from tests.integration.test_aggregator_harness import LEVEL4, all_applied, event, running, send
from tests.support.env import eventually


async def test_each_changed_current_value_is_published_to_the_rollups_topic(isolated):
    at = "2025-08-10T10:00:00+07:00"
    async with running(isolated):
        await send(isolated, [event(LEVEL4, "14758", at, 1, 4), event(LEVEL4, "14812", at, 2, 4)])
        await eventually(lambda: all_applied(isolated, 2))
        messages = await _latest_by_key(isolated, {f"{LEVEL4}:38", f"{LEVEL4}:14758", f"{LEVEL4}:14812"})
    province = messages[f"{LEVEL4}:38"]
    assert province["value"] == 37.5 and (province["numerator"], province["denominator"]) == (3, 8)
    assert (province["reporting_children"], province["children_in_force"], province["level"]) == (2, 166, "province")
    assert province["coverage"] == 2 / 166
    assert province["last_observed_at"] == "2025-08-10T03:00:00Z" and province["updated_at"].endswith("Z")
    assert messages[f"{LEVEL4}:14758"]["coverage"] is None and messages[f"{LEVEL4}:14758"]["value"] == 25


async def _latest_by_key(settings, keys: set[str]) -> dict[str, Any]:
    consumer = AIOKafkaConsumer(settings.topic_rollups, **consumer_kwargs(settings, "rollups-reader"))
    await consumer.start()
    seen: dict[str, Any] = {}
    try:

        async def complete() -> bool:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                seen.update({r.key.decode(): orjson.loads(r.value) for r in batch})
            return keys <= set(seen) and seen[f"{LEVEL4}:38"]["denominator"] == 8

        await eventually(complete)
        return seen
    finally:
        await consumer.stop()


async def test_metrics_and_health_are_served_on_the_metrics_port(isolated):
    duplicate = event(LEVEL4, "14758", "2025-08-10T10:00:00+07:00", 1, 4)
    async with running(isolated) as agg:
        base = f"http://127.0.0.1:{agg.aggregator_metrics_port}"
        await eventually(lambda: _status(f"{base}/healthz", 200))
        await send(isolated, [duplicate, duplicate], raw=[(None, b"garbage")])
        await eventually(lambda: all_applied(isolated, 1))

        async def counted() -> bool:
            text = (await _get(f"{base}/metrics")).text
            return (
                "dx_aggregator_duplicates_total 1.0" in text
                and 'dx_events_deadlettered_total{reason="undecodable"} 1.0' in text
            )

        await eventually(counted)
        text = (await _get(f"{base}/metrics")).text
    assert "dx_aggregator_events_applied_total 1.0" in text
    assert "dx_e2e_duration_seconds_count 1.0" in text
    assert "dx_aggregator_batch_size_messages_count" in text
    assert "dx_aggregator_transaction_duration_seconds_count" in text
    lag = f'dx_consumer_lag_messages{{group="{agg.aggregator_group}",partition="0",topic="{isolated.topic_events}"}}'
    assert lag in text


async def _get(url: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(url, timeout=5)


async def _status(url: str, status: int) -> bool:
    try:
        return (await _get(url)).status_code == status
    except httpx.HTTPError:
        return False
