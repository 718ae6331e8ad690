"""`dx dlq list|replay` against the real broker, database and collector: a replay goes back through the collector
under the letter's original source only (its own ingest topic, never dx.events.v1), once ever; a `forbidden` letter
stays refused while its scope forbids it; a revoked source's letters stay dead; an unauthenticated, forged or
altered letter, or one whose original is gone, is refused."""

import base64
import subprocess
import sys
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer

from dx.dlq import DeadLetter, read_deadletters, read_topic, replay, select
from dx.sources import SourceAdmin
from services.collector.settings import CollectorSettings
from shared.adapters.kafka import producer_kwargs
from shared.adapters.postgres import create_pool
from shared.contracts.topics import REPLAY_HEADER
from shared.settings import Settings
from testing.processes import ROOT, settings_env
from tests.integration.collector.support import collector_settings, ratio_event, revoke_source, running_app
from tests.support.db import add_kafka_source
from tests.support.env import eventually

AUGUST = "2025-08-01T10:00:00+07:00"


async def _send(settings: Settings, topic: str, value: bytes, key: bytes | None = b"k") -> tuple[int, int]:
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    await producer.start()
    try:
        meta = await producer.send_and_wait(topic, value, key=key)
        return meta.partition, meta.offset
    finally:
        await producer.stop()


def _forged(topic: str, at: tuple[int, int], original: bytes, reason: str, source: str | None) -> bytes:
    return orjson.dumps({
        "reason": reason, "reasons": [reason], "source_topic": topic, "source_partition": at[0],
        "source_offset": at[1], "service": "collector", "dead_lettered_at": "2026-01-02T03:04:05Z",
        "original": original.decode(), "original_b64": base64.b64encode(original).decode(), "source": source,
    })  # fmt: skip


async def _letters(settings: Settings, n: int) -> list[DeadLetter]:
    found: list[DeadLetter] = []

    async def enough() -> bool:
        found[:] = await read_deadletters(settings)
        return len(found) >= n

    await eventually(enough, timeout=60)
    return found


def _event_sources(records: list[Any]) -> dict[str, str]:
    return {orjson.loads(r.value)["event_id"]: orjson.loads(r.value)["source"] for r in records}


async def test_replays_go_back_through_the_collector_under_their_source_only(isolated: Settings) -> None:
    settings = collector_settings(isolated, collector_source_cache_ttl_s=0)
    xa_a = await add_kafka_source(settings, "xa-a", units=["14758@2025-07-01"])
    gone = await add_kafka_source(settings, "xa-gone")
    await revoke_source(settings, "xa-gone")
    outside = ratio_event(unit="14797", observed_at=AUGUST)  # not Hàm Rồng's: forbidden for xa-a
    inside = ratio_event(unit="14758", observed_at=AUGUST)
    async with running_app(settings):
        at_outside = await _send(settings, xa_a, orjson.dumps(outside))
        await _send(settings, gone, orjson.dumps(ratio_event()))  # revoked: forbidden
        await _send(settings, settings.topic_ingest, orjson.dumps(inside))  # nobody's topic: unauthenticated
        genuine = await _letters(settings, 3)
        # forged letters: other bytes at a real origin, a real origin that holds nothing, an events-topic injection
        await _send(settings, settings.topic_deadletter, _forged(xa_a, at_outside, orjson.dumps(inside),
                                                                  "forbidden: unit: x", "xa-a"))  # fmt: skip
        await _send(settings, settings.topic_deadletter, _forged(xa_a, (at_outside[0], 999), orjson.dumps(inside),
                                                                  "forbidden: unit: x", "xa-a"))  # fmt: skip
        events_inject = orjson.dumps({**inside, "source": "xa-a", "received_at": "2026-01-01T00:00:00Z"})
        await _send(settings, settings.topic_deadletter, _forged(settings.topic_events, (0, 0), events_inject,
                                                                  "unknown_unit: unit: x", "xa-a"))  # fmt: skip
        letters = await _letters(settings, 6)
        codes = {(d.source_topic, d.code, d.source) for d in genuine}
        assert codes == {(xa_a, "forbidden", "xa-a"), (gone, "forbidden", "xa-gone"),
                         (settings.topic_ingest, "unauthenticated", None)}  # fmt: skip

        first = await replay(settings, select(letters, everything=True))
        refused = {d.source_topic: why for d, why in first.refused}
        assert [d.source_topic for d in first.replayed] == [xa_a]  # only the genuine, authenticated, live one
        assert "source 'xa-gone' is revoked: its letters stay dead" in refused[gone]
        assert "authenticates no source" in refused[settings.topic_ingest]
        why = sorted(w for d, w in first.refused if d.source_topic in (xa_a, settings.topic_events))
        assert len(why) == 3
        assert "a forged or altered dead letter" in why[0]  # other bytes than the source sent
        assert all("no longer in Kafka: its origin cannot be proven" in w for w in why[1:])  # nothing held there

        # the replayed forbidden letter came back through the collector: refused again, as a new dead letter
        again = await _letters(settings, 7)
        (redone,) = [d for d in again if (d.partition, d.offset) not in {(x.partition, x.offset) for x in letters}]
        assert (redone.source_topic, redone.code, redone.source) == (xa_a, "forbidden", "xa-a")
        doc = orjson.loads((await read_topic(settings, settings.topic_deadletter))[-1].value)
        assert REPLAY_HEADER in {h["key"] for h in doc["headers"]}

        # once the scope allows it (re-issued with the whole province), the same event is accepted as xa-a's
        await revoke_source(settings, "xa-a")
        pool = await create_pool(settings, "app", max_size=1)
        try:
            await SourceAdmin(pool).add("xa-a", None, None)
        finally:
            await pool.close()
        second = await replay(settings, [redone, *select(letters, everything=True)])
        assert [d.ref for d in second.replayed] == [redone.ref]
        assert [d.source_topic for d in second.already] == [xa_a]  # the first letter: once, ever

        async def accepted() -> bool:
            return _event_sources(await read_topic(settings, settings.topic_events)) == {outside["event_id"]: "xa-a"}

        await eventually(accepted, timeout=60)
    conn = await asyncpg.connect(settings.pg_dsn("app"))
    try:
        targets = {r["source_topic"] for r in await conn.fetch("SELECT source_topic FROM dlq_replays")}
    finally:
        await conn.close()
    assert targets == {xa_a}  # nothing was written to dx.events.v1 by a replay


async def test_an_aggregator_letter_is_re_driven_as_the_event_the_source_sent(isolated: Settings) -> None:
    settings = collector_settings(isolated)
    xa_a = await add_kafka_source(settings, "xa-a")
    event = ratio_event(unit="14758", observed_at=AUGUST)
    accepted = orjson.dumps({**event, "source": "xa-a", "received_at": "2025-08-01T03:00:00Z"})
    at = await _send(settings, settings.topic_events, accepted, key=b"gov.eid_users:14758")
    letter = _forged(settings.topic_events, at, accepted, "observed_in_future: observed_at: x", None)
    await _send(settings, settings.topic_deadletter, letter.replace(b'"collector"', b'"aggregator"'), key=None)
    letters = await _letters(settings, 1)
    assert letters[0].key is None  # the original's key differs: refused as altered
    refused = await replay(settings, letters)
    assert "forged or altered" in refused.refused[0][1]

    await _send(settings, settings.topic_deadletter, letter, key=b"gov.eid_users:14758")
    (_, genuine) = await _letters(settings, 2)
    result = await replay(settings, [genuine])
    assert [d.ref for d in result.replayed] == [genuine.ref]
    records = await read_topic(settings, xa_a)
    assert [(r.key, orjson.loads(r.value)) for r in records] == [(b"gov.eid_users:14758", event)]
    assert dict(records[0].headers)[REPLAY_HEADER] == f"{settings.topic_deadletter}:0:{genuine.offset}".encode()


def _dx(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dx.main", *args],
        env={**settings_env(settings), "COLUMNS": "200"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_the_commands_list_filter_and_replay_by_offset(isolated: Settings) -> None:
    settings = CollectorSettings.model_validate(isolated.model_dump())
    xa_a = await add_kafka_source(settings, "xa-a", units=["14758@2025-07-01"])
    async with running_app(settings):
        await _send(settings, xa_a, orjson.dumps(ratio_event(unit="99999")))
        await _send(settings, settings.topic_ingest, orjson.dumps(ratio_event()))
        letters = await _letters(settings, 2)
    unknown = next(d for d in letters if d.code == "unknown_unit")
    listed = _dx(isolated, "dlq", "list", "--reason", "unknown_unit")
    assert listed.returncode == 0, listed.stderr
    assert "unknown_unit" in listed.stdout and "unauthenticated" not in listed.stdout  # filtered by reason
    assert "1 of 1 dead letters" in listed.stdout and "(xa-a)" in listed.stdout

    nothing = _dx(isolated, "dlq", "replay")
    assert nothing.returncode == 2 and "--offset" in nothing.stdout

    replayed = _dx(isolated, "dlq", "replay", "--offset", unknown.ref)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "1 replayed, 0 already" in replayed.stdout and "sent by xa-a" in replayed.stdout
    again = _dx(isolated, "dlq", "replay", "--offset", unknown.ref)
    assert "0 replayed, 1 already replayed before" in again.stdout
    refused = _dx(isolated, "dlq", "replay", "--reason", "unauthenticated")
    assert refused.returncode == 1 and "authenticates no source" in refused.stdout
    assert len(await read_topic(isolated, xa_a)) == 2  # the original and its one replay
