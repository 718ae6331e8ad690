"""A commit beside the next transaction's batch, against the real database: a batch that holds the (source,
event_id) of one of the committing transaction's amendments waits for that commit before its insert, so neither
waits for the other, and the event is then a duplicate of the amendment, counted once."""

import asyncio
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import orjson

from services.aggregator import store
from services.aggregator.apply import Staged, Transaction, apply_batch, stage
from services.aggregator.consumer import Aggregator
from services.aggregator.decode import Decoder
from services.aggregator.fold import Planner
from services.aggregator.prepare import Part, prepare
from shared.adapters.postgres import create_pool
from shared.domain.timeutil import local_date

SATISFACTION = "gov.satisfaction"


def event(**extra: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()), "indicator": SATISFACTION, "unit": "14758",
        "observed_at": "2026-11-01T09:00:00+07:00", "numerator": 3, "denominator": 10, "source": "t",
        "received_at": "2026-11-01T02:00:01Z", **extra,
    }  # fmt: skip


def staged(events: list[dict[str, Any]], first_offset: int, catalog: Any, hierarchy: Any) -> Staged:
    part = Part(0, list(range(first_offset, first_offset + len(events))), [orjson.dumps(e) for e in events])
    now = datetime.now(UTC)
    return stage(prepare(Decoder(catalog, hierarchy), [part]), now, Planner(catalog, hierarchy), local_date(now))


def offsets(settings: Any, next_offset: int) -> store.Offsets:
    return store.Offsets("overlap-test", settings.topic_events, {0: next_offset})


async def test_a_batch_holding_an_amendments_id_waits_for_the_commit_beside_it(db_settings, catalog, hierarchy):
    original = event()
    retraction = {k: original[k] for k in ("indicator", "unit", "source")}
    retraction |= {"event_id": str(uuid.uuid4()), "observed_at": "2026-11-02T09:00:00+07:00",
                   "received_at": "2026-11-02T03:00:00Z", "retracts": original["event_id"]}  # fmt: skip
    reused = event(event_id=retraction["event_id"], numerator=7)  # an ordinary event with the retraction's id
    pool = await create_pool(db_settings, "aggregator", max_size=3)
    try:
        await store.sync_tree(pool, hierarchy)
        await apply_batch(pool, catalog, hierarchy, staged([original], 0, catalog, hierarchy), offsets(db_settings, 1))
        first, second = Transaction(pool, catalog, hierarchy), Transaction(pool, catalog, hierarchy)
        await first.add(staged([retraction], 1, catalog, hierarchy))
        go, reached = asyncio.Event(), asyncio.Event()

        async def commit_first() -> None:
            await go.wait()
            await first.commit(offsets(db_settings, 2))

        committing = asyncio.create_task(commit_first())
        guard = Aggregator.unless_amended_there(SimpleNamespace(open=SimpleNamespace(tx=first), task=committing))  # type: ignore[arg-type]
        assert guard is not None

        async def staged_then_guard(conn: Any) -> None:
            reached.set()  # the second batch is staged: only now may the first commit begin
            await guard(conn)

        adding = asyncio.create_task(second.add(staged([reused], 2, catalog, hierarchy), staged_then_guard))
        await reached.wait()
        await asyncio.sleep(0.5)  # time for the second batch's insert, had it not waited
        go.set()
        await asyncio.wait_for(committing, 20)  # had the insert gone first, this commit would wait for ever
        await asyncio.wait_for(adding, 20)
        result = await asyncio.wait_for(second.commit(offsets(db_settings, 3)), 20)
        assert (result.applied, result.duplicates) == (0, 1)  # the insert found the retraction's row: a duplicate
        async with pool.acquire() as conn:
            rows = await conn.fetch("SELECT event_id::text, retracts::text FROM applied_events ORDER BY kafka_offset")
            refused = await conn.fetch("SELECT kafka_offset, reason FROM event_refusals")
            province = await conn.fetchrow(
                "SELECT numerator FROM current_values WHERE indicator = $1 AND unit = '38'", SATISFACTION
            )
    finally:
        pool.terminate()  # a connection left waiting (a failure) must not hang the test
    assert [tuple(r) for r in rows] == [(original["event_id"], None), (retraction["event_id"], original["event_id"])]
    assert [r["kafka_offset"] for r in refused] == [2] and refused[0]["reason"].startswith("duplicate")
    assert province is None or province["numerator"] in (None, 0)  # retracted, and the reused id never counted


async def test_a_resend_beside_the_commit_of_its_original_waits_for_it_and_counts_once(db_settings, catalog, hierarchy):
    """applied_events is partitioned by received_at (docs/storage.md): a resend of an event received at another
    moment has another primary key, and the insert's check cannot see the committing transaction's rows. A batch
    holding the event_id of an event that commit inserted waits for it, then finds the original: a duplicate."""
    original = event()
    resent = {**original, "received_at": "2026-11-01T02:00:09Z"}  # the source's retry, received 8 s later
    pool = await create_pool(db_settings, "aggregator", max_size=3)
    try:
        await store.sync_tree(pool, hierarchy)
        first, second = Transaction(pool, catalog, hierarchy), Transaction(pool, catalog, hierarchy)
        await first.add(staged([original], 0, catalog, hierarchy))
        go = asyncio.Event()

        async def commit_first() -> None:
            await go.wait()
            await first.commit(offsets(db_settings, 1))

        committing = asyncio.create_task(commit_first())
        batch = staged([resent], 1, catalog, hierarchy)
        before = SimpleNamespace(open=SimpleNamespace(tx=first), task=committing)
        guard = Aggregator.unless_amended_there(before, batch.prepared.ids)  # type: ignore[arg-type]
        assert guard is not None
        adding = asyncio.create_task(second.add(batch, guard))
        await asyncio.sleep(0.5)  # time for the second batch's insert, had it not waited
        assert not adding.done()
        go.set()
        await asyncio.wait_for(committing, 20)
        await asyncio.wait_for(adding, 20)
        result = await asyncio.wait_for(second.commit(offsets(db_settings, 2)), 20)
        async with pool.acquire() as conn:
            rows = await conn.fetchval("SELECT count(*) FROM applied_events")
            province = await conn.fetchrow(
                "SELECT numerator, denominator FROM current_values WHERE indicator = $1 AND unit = '38'", SATISFACTION
            )
    finally:
        pool.terminate()
    assert (result.applied, result.duplicates) == (0, 1)
    assert rows == 1 and (province["numerator"], province["denominator"]) == (3, 10)  # counted once


def test_a_batch_with_none_of_the_committing_events_does_not_wait(catalog, hierarchy) -> None:
    first = Transaction(None, catalog, hierarchy)
    first.ids.append(staged([event()], 0, catalog, hierarchy).prepared.ids)
    before = SimpleNamespace(open=SimpleNamespace(tx=first), task=None)
    other = staged([event()], 1, catalog, hierarchy).prepared.ids
    assert Aggregator.unless_amended_there(before, other) is None  # type: ignore[arg-type]
