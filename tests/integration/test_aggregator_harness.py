"""Helpers for the aggregator's tests: events, sending to the isolated topic, an in-process aggregator, reads."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from services.aggregator.main import run
from services.aggregator.settings import AggregatorSettings
from shared.adapters.kafka import producer_kwargs
from shared.contracts.keys import pair_key
from shared.settings import Settings
from testing.processes import free_port
from tests.support.db import fetch as fetch  # re-exported for the tests of this layer

LEVEL4 = "gov.level4_procedures_online"
SATISFACTION = "gov.satisfaction"


def event(indicator: str, unit: str, observed_at: str, num: int | None = None, den: int | None = None,
          value: float | None = None, event_id: str | None = None) -> dict[str, Any]:  # fmt: skip
    """A dx.events.v1 message body (accepted event + source + received_at)."""
    body: dict[str, Any] = {"event_id": event_id or str(uuid.uuid4()), "indicator": indicator, "unit": unit,
                            "observed_at": observed_at, "source": "test",
                            "received_at": datetime.now(UTC).isoformat().replace("+00:00", "Z")}  # fmt: skip
    if value is None:
        body.update(numerator=num, denominator=den)
    else:
        body["value"] = value
    return body


async def send(
    settings: Settings,
    events: list[dict[str, Any]],
    raw: list[tuple[bytes | None, bytes | None]] | None = None,
    partition: int | None = None,
) -> None:
    """Publish events (key indicator:unit) and raw (key, value) messages to the events topic, acks=all."""
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    await producer.start()
    try:
        futures = [
            await producer.send(
                settings.topic_events,
                orjson.dumps(e),
                key=pair_key(e["indicator"], e["unit"]),
                partition=partition,
            )
            for e in events
        ]
        futures += [await producer.send(settings.topic_events, value, key=key) for key, value in raw or []]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def aggregator_settings(settings: Settings, **overrides: Any) -> AggregatorSettings:
    group = f"aggregator-test-{uuid.uuid4().hex[:8]}"  # a group of its own: no rebalance with other tests
    values = {**settings.model_dump(), "aggregator_metrics_port": free_port(), "aggregator_group": group, **overrides}
    return AggregatorSettings(**values)


@contextlib.asynccontextmanager
async def running(settings: Settings, **overrides: Any) -> AsyncIterator[AggregatorSettings]:
    """An aggregator in this event loop until the block ends (stopped as SIGTERM would)."""
    agg = aggregator_settings(settings, **overrides)
    stop = asyncio.Event()
    task = asyncio.create_task(run(agg, stop))
    try:
        yield agg
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def current(settings: Settings, indicator: str, unit: str) -> Any:
    """The current_values row (asserted to exist)."""
    rows = await fetch(settings, "SELECT * FROM current_values WHERE indicator = $1 AND unit = $2", indicator, unit)
    assert rows, f"no current value for {indicator} {unit}"
    return rows[0]


async def applied_count(settings: Settings) -> int:
    return int((await fetch(settings, "SELECT count(*) AS n FROM applied_events"))[0]["n"])


async def all_applied(settings: Settings, n: int) -> bool:
    return await applied_count(settings) >= n
