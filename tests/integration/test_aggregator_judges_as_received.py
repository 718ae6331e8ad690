"""Nothing the collector acknowledged is dead-lettered later, against the real broker and database: the collector's
clock runs 90 s ahead of the aggregator's, and the catalog was edited (a bound tightened) while the backlog waited."""

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.collector.intake import Intake, Record
from shared.adapters.kafka import consumer_kwargs, producer_kwargs
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.domain.timeutil import local_date, rfc3339
from shared.domain.validation import Scope
from tests.integration.test_aggregator_harness import SATISFACTION, current, event, fetch, running, send
from tests.support.edited_catalog import edited_catalog_text
from tests.support.env import eventually

GROWTH = "econ.labour_productivity_growth"


async def publish(settings: Any, records: list[Record]) -> None:
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    await producer.start()
    try:
        futures = [await producer.send(settings.topic_events, r.value, key=r.key) for r in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def dead_letters(settings: Any, at_least: int) -> list[dict[str, Any]]:
    """The dead-letter topic's records once it holds `at_least`, and asserted to hold no more than those read."""
    consumer = AIOKafkaConsumer(settings.topic_deadletter, **consumer_kwargs(settings, "judged-as-received-reader"))
    await consumer.start()
    try:
        out: list[dict[str, Any]] = []

        async def enough() -> bool:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                out.extend(orjson.loads(r.value) for r in batch)
            return len(out) >= at_least

        await eventually(enough)
        ends = await consumer.end_offsets(list(consumer.assignment()))
        assert sum(ends.values()) == len(out), "more dead letters than read"
        return out
    finally:
        await consumer.stop()


async def test_skewed_clocks_and_a_catalog_edit_mid_backlog_lose_nothing_acknowledged(
    isolated: Any, catalog: Catalog, hierarchy: Hierarchy, tmp_path: Path
) -> None:
    collector_now = datetime.now(UTC) + timedelta(seconds=90)  # the aggregator (this process) is 90 s behind
    ahead = collector_now + timedelta(minutes=4)  # 4 minutes ahead of the collector: within its 5-minute allowance
    today = local_date(datetime.now(UTC))
    yesterday = f"{(today - timedelta(days=1)).isoformat()}T09:00:00+07:00"
    growth = {"event_id": "2b6f8f1e-5d0e-4c8a-9a43-5d1f0e2c1a77", "indicator": GROWTH, "unit": "38",
              "observed_at": yesterday, "value": 12.5, "period": str(today.year - 1)}  # fmt: skip
    future = {"event_id": "3b6f8f1e-5d0e-4c8a-9a43-5d1f0e2c1a77", "indicator": SATISFACTION, "unit": "14758",
              "observed_at": rfc3339(ahead), "numerator": 7, "denominator": 10}  # fmt: skip
    checked = Intake(catalog, hierarchy).check_batch([future, growth], "portal", Scope(), collector_now)
    assert checked.rejected == []  # the collector answers 202 for both
    await publish(isolated, checked.records)
    # a sentinel the aggregator must refuse: proves the dead-letter path ran over the same backlog
    await send(isolated, [event("gov.nothing_here", "14758", yesterday, 1, 2)])
    edited = tmp_path / "catalog.toml"  # the operator tightens the growth bound before the aggregator catches up
    edited.write_text(edited_catalog_text(GROWTH, "max = 100.0", "max = 10.0"), encoding="utf-8")
    async with running(isolated, catalog_path=edited):
        await eventually(lambda: _offsets_reach(isolated, 3))
    applied = await fetch(isolated, "SELECT event_id::text AS id FROM applied_events ORDER BY 1")
    assert [r["id"] for r in applied] == [growth["event_id"], future["event_id"]]
    if local_date(ahead) == today:
        assert (await current(isolated, SATISFACTION, "14758"))["value"] == Decimal(70)
    else:  # run in the minutes before local midnight: the collector's clock is already on the next day, the
        # aggregator's not, so the value is the next day's (its daily row), not yet today's current value
        rows = await fetch(isolated, "SELECT value FROM daily_values WHERE indicator = $1 AND unit = $2 AND day = $3",
                           SATISFACTION, "14758", local_date(ahead))  # fmt: skip
        assert [r["value"] for r in rows] == [Decimal(70)]
    assert (await current(isolated, GROWTH, "38"))["value"] == Decimal("12.5")
    letters = await dead_letters(isolated, 1)
    assert [d["reason"].split(":")[0] for d in letters] == ["unknown_indicator"]


async def _offsets_reach(settings: Any, total: int) -> bool:
    rows = await fetch(settings, "SELECT coalesce(sum(next_offset), 0) AS n FROM consumer_offsets")
    return bool(rows[0]["n"] >= total)
