"""Delivery guarantees against the real broker and database: duplicates, replay from offset 0, poison messages
to the dead-letter topic, and a failing transaction that no later commit may skip."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer

from shared import names
from shared.adapters.kafka import consumer_kwargs, group_id
from shared.contracts.topics import DLQ_REASON_HEADER
from shared.domain.timeutil import local_date
from tests.integration.test_aggregator_harness import (
    LEVEL4,
    SATISFACTION,
    all_applied,
    applied_count,
    current,
    event,
    fetch,
    running,
    send,
)
from tests.support.env import eventually


def yesterday_noon() -> str:
    return f"{(local_date(datetime.now(UTC)) - timedelta(days=1)).isoformat()}T12:00:00+07:00"


async def satisfaction_totals(settings) -> tuple[int, int]:
    row = await current(settings, SATISFACTION, "38")
    return int(row["numerator"]), int(row["denominator"])


async def test_duplicates_count_once_in_a_batch_in_a_later_batch_and_on_replay_from_offset_zero(isolated):
    at = yesterday_noon()
    e1, e2, e3 = (event(SATISFACTION, "14758", at, n, 1) for n in (1, 0, 1))
    async with running(isolated):
        await send(isolated, [e1, e1, e2])  # the same event twice in one send, most likely one batch
        await eventually(lambda: all_applied(isolated, 2))
        await send(isolated, [e3, e2, e1])  # later batches repeat e1 and e2
        await eventually(lambda: all_applied(isolated, 3))
        await eventually(lambda: _offsets_reach(isolated, 6))
    assert await satisfaction_totals(isolated) == (2, 3)
    async with running(isolated, aggregator_group="replay-from-zero"):  # no stored offsets: the whole log again
        await eventually(lambda: _offsets_reach(isolated, 6, "replay-from-zero"))
    assert await applied_count(isolated) == 3
    assert await satisfaction_totals(isolated) == (2, 3)
    commune = await current(isolated, SATISFACTION, "14758")
    assert commune["value"] == Decimal(100) * 2 / 3
    buckets = await fetch(isolated, "SELECT sum(events) AS n FROM agg_buckets WHERE unit = '14758'")
    assert buckets[0]["n"] == 3


async def _offsets_reach(settings, total: int, group: str | None = None) -> bool:
    rows = await fetch(
        settings,
        "SELECT sum(next_offset) AS n FROM consumer_offsets WHERE consumer_group <> $1"
        if group is None
        else "SELECT sum(next_offset) AS n FROM consumer_offsets WHERE consumer_group = $1",
        group_id(settings, "replay-from-zero" if group is None else group),  # stored under the full group id
    )
    return bool(rows[0]["n"] == total)


async def test_poison_goes_to_the_dead_letter_topic_and_the_partition_keeps_moving(isolated):
    good = event(LEVEL4, "14758", "2025-08-10T10:00:00+07:00", 1, 2)
    unknown = event("gov.nothing_here", "14758", "2025-08-10T10:00:00+07:00", 1, 2)
    wrong_level = event(LEVEL4, "380", "2025-03-10T10:00:00+07:00", 1, 2)
    not_a_source = {**event(LEVEL4, "14758", "2025-08-10T10:00:00+07:00", 1, 2), "source": "tab\there\u0000"}
    async with running(isolated):
        await send(isolated, [unknown, wrong_level, not_a_source], raw=[(b"k", b"{not json"), (None, b"\xff\xfe")],
                   partition=0)  # fmt: skip
        await send(isolated, [good], partition=0)
        await eventually(lambda: all_applied(isolated, 1))
        await eventually(lambda: _offsets_reach(isolated, 6))
    records = await _read_all(isolated, isolated.topic_deadletter, 5)
    by_reason = {orjson.loads(r.value)["reason"].split(":")[0]: r for r in records}
    assert set(by_reason) == {"unknown_indicator", "wrong_level", "undecodable", "invalid_field"}
    assert orjson.loads(by_reason["invalid_field"].value)["reason"].startswith("invalid_field: source:")
    wrong = orjson.loads(by_reason["wrong_level"].value)
    assert wrong["service"] == "aggregator" and wrong["source_topic"] == isolated.topic_events
    assert orjson.loads(wrong["original"]) == wrong_level and wrong["source_partition"] == 0
    assert dict(by_reason["wrong_level"].headers)[DLQ_REASON_HEADER] == b"wrong_level"
    binary = [orjson.loads(r.value) for r in records if orjson.loads(r.value)["original"] is None]
    assert binary and binary[0]["original_b64"] == "//4="
    assert (await current(isolated, LEVEL4, "14758"))["value"] == Decimal(50)


async def _read_all(settings, topic: str, n: int) -> list[Any]:
    consumer = AIOKafkaConsumer(topic, **consumer_kwargs(settings, "dlq-reader"))
    await consumer.start()
    try:
        records: list[Any] = []

        async def enough() -> bool:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
            return len(records) >= n

        await eventually(enough)
        return records
    finally:
        await consumer.stop()


async def test_a_failing_transaction_is_retried_and_never_skipped_by_a_later_commit(isolated):
    """Offsets move only with the database commit, so a batch that fails is read again, not skipped."""
    conn_sql = [
        "CREATE TABLE fail_switch (on_ boolean)",
        "CREATE SEQUENCE fail_attempts",  # not rolled back with the failed transaction
        "GRANT USAGE ON SEQUENCE fail_attempts TO dx_aggregator",  # the trigger runs as the aggregator
        "INSERT INTO fail_switch VALUES (true)",
        """CREATE FUNCTION fail_14797() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
             IF NEW.unit = '14797' AND (SELECT on_ FROM fail_switch) THEN
               PERFORM nextval('fail_attempts'); RAISE EXCEPTION 'injected';
             END IF;
             RETURN NEW; END $$""",
        "CREATE TRIGGER fail_14797 BEFORE INSERT ON applied_events FOR EACH ROW EXECUTE FUNCTION fail_14797()",
        "GRANT SELECT ON fail_switch TO dx_aggregator",
    ]
    for statement in conn_sql:
        await fetch(isolated, statement)
    at = "2025-08-10T10:00:00+07:00"
    failing, after_it = event(LEVEL4, "14797", at, 1, 4), event(LEVEL4, "14812", at, 3, 4)
    elsewhere = event(LEVEL4, "14818", at, 1, 1)
    async with running(isolated, aggregator_retry_seconds=0.2):
        await send(isolated, [failing, after_it], partition=0)
        await send(isolated, [elsewhere], partition=1)
        await eventually(lambda: _attempts(isolated, 3))  # failed, rewound and read again, more than once
        stored = await fetch(isolated, "SELECT partition, next_offset FROM consumer_offsets")
        assert {r["partition"]: r["next_offset"] for r in stored}.get(0) is None
        assert await applied_count(isolated) in (0, 1)  # the other partition may have been read on its own
        await fetch(isolated, "UPDATE fail_switch SET on_ = false")
        await eventually(lambda: all_applied(isolated, 3))
    assert (await current(isolated, LEVEL4, "38"))["value"] == Decimal(100) * 5 / 9
    await eventually(lambda: _offsets_reach(isolated, 3))


async def _attempts(settings, n: int) -> bool:
    rows = await fetch(settings, "SELECT last_value, is_called FROM fail_attempts")
    return bool(rows[0]["is_called"] and rows[0]["last_value"] >= n)


async def test_a_new_owner_starts_from_the_offsets_stored_with_the_data_not_from_kafkas(isolated):
    """The group below has no offset in Kafka (so Kafka would start at 0) but has one in the database."""
    at = yesterday_noon()
    async with running(isolated) as first:
        await send(isolated, [event(SATISFACTION, "14758", at, 1, 1) for _ in range(200)])
        await eventually(lambda: _offsets_reach(isolated, 200, first.aggregator_group))
    await fetch(
        isolated,
        "INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset) "
        "SELECT $2, topic, partition, next_offset FROM consumer_offsets WHERE consumer_group = $1",
        group_id(isolated, first.aggregator_group),
        group_id(isolated, "moved"),
    )
    async with running(isolated, aggregator_group="moved") as moved:
        await send(isolated, [event(SATISFACTION, "14758", at, 0, 1)])
        await eventually(lambda: _offsets_reach(isolated, 201, "moved"))
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"http://127.0.0.1:{moved.aggregator_metrics_port}/metrics")).text
    assert f"{names.M_EVENTS_APPLIED}_total 1.0" in text
    assert f"{names.M_EVENTS_DUPLICATE}_total 0.0" in text  # nothing before the stored offset was read again
    assert await satisfaction_totals(isolated) == (200, 201)
