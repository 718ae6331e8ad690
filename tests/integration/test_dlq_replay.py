"""`dx dlq list|replay` against the real broker and database: dead letters are re-driven once, ever."""

import base64
import subprocess
import sys

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer

from dx.dlq import read_deadletters, read_topic, replay, select
from shared.adapters.kafka import producer_kwargs
from shared.contracts.topics import DLQ_REASON_HEADER
from shared.settings import Settings
from testing.processes import ROOT, settings_env

EVENT = b'{"event_id":"5d3c1b7e-9a1f-4c55-8f0e-0c4b7a7d2e11","indicator":"gov.eid_users","unit":"99999"}'


def _deadletter(settings: Settings, source_topic: str, original: bytes, reason: str, **extra: object) -> bytes:
    return orjson.dumps(
        {
            "reason": reason,
            "reasons": [reason],
            "source_topic": source_topic,
            "source_partition": 2,
            "source_offset": 41,
            "service": "collector" if source_topic == settings.topic_ingest else "aggregator",
            "dead_lettered_at": "2026-01-02T03:04:05Z",
            "original": original.decode(),
            "original_b64": base64.b64encode(original).decode(),
            **extra,
        }
    )


async def _write_deadletters(settings: Settings) -> None:
    """Three dead letters as the services write them: from the ingest topic, from dx.events, one truncated."""
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    await producer.start()
    try:
        records = [
            (b"gov.eid_users:99999", _deadletter(settings, settings.topic_ingest, EVENT, "unknown_unit: unit: 99999")),
            (b"k2", _deadletter(settings, settings.topic_events, b'{"bad": true}', "unknown_field: bad: extra")),
            (
                None,
                _deadletter(settings, settings.topic_ingest, b"{", "invalid_json: body: x", original_truncated=True),
            ),
        ]
        for key, value in records:
            reason = orjson.loads(value)["reason"].split(":")[0].encode()
            await producer.send_and_wait(
                settings.topic_deadletter, value, key=key, partition=0, headers=[(DLQ_REASON_HEADER, reason)]
            )
    finally:
        await producer.stop()


async def _topic_contents(settings: Settings, topic: str) -> list[tuple[bytes | None, bytes | None]]:
    return [(r.key, r.value) for r in await read_topic(settings, topic)]


async def test_replay_re_drives_dead_letters_to_their_source_topics_once(isolated: Settings) -> None:
    await _write_deadletters(isolated)
    letters = await read_deadletters(isolated)
    assert [(d.ref, d.code, d.service) for d in letters] == [
        ("0:0", "unknown_unit", "collector"),
        ("0:1", "unknown_field", "aggregator"),
        ("0:2", "invalid_json", "collector"),
    ]
    assert letters[0].original == EVENT and letters[2].original is None

    first = await replay(isolated, select(letters, everything=True))
    assert [d.ref for d in first.replayed] == ["0:0", "0:1"]
    assert [d.ref for d, _ in first.refused] == ["0:2"]  # the original bytes were not kept whole
    assert await _topic_contents(isolated, isolated.topic_ingest) == [(b"gov.eid_users:99999", EVENT)]
    assert await _topic_contents(isolated, isolated.topic_events) == [(b"k2", b'{"bad": true}')]

    second = await replay(isolated, select(letters, everything=True))
    assert (second.replayed, [d.ref for d in second.already]) == ([], ["0:0", "0:1"])
    assert len(await _topic_contents(isolated, isolated.topic_ingest)) == 1
    assert len(await _topic_contents(isolated, isolated.topic_events)) == 1

    conn = await asyncpg.connect(isolated.pg_dsn("app"))
    try:
        rows = await conn.fetch("SELECT dlq_offset, source_topic, replayed_offset FROM dlq_replays ORDER BY 1")
    finally:
        await conn.close()
    assert [(r["dlq_offset"], r["source_topic"], r["replayed_offset"]) for r in rows] == [
        (0, isolated.topic_ingest, 0),
        (1, isolated.topic_events, 0),
    ]


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
    await _write_deadletters(isolated)
    listed = _dx(isolated, "dlq", "list", "--reason", "unknown_unit")
    assert listed.returncode == 0, listed.stderr
    assert "unknown_unit" in listed.stdout and "unknown_field" not in listed.stdout  # filtered by reason
    assert "1 of 1 dead letters" in listed.stdout

    nothing = _dx(isolated, "dlq", "replay")
    assert nothing.returncode == 2 and "--offset" in nothing.stdout

    replayed = _dx(isolated, "dlq", "replay", "--offset", "0:1")
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "1 replayed, 0 already" in replayed.stdout
    again = _dx(isolated, "dlq", "replay", "--offset", "1")
    assert "0 replayed, 1 already replayed before" in again.stdout
    assert await _topic_contents(isolated, isolated.topic_events) == [(b"k2", b'{"bad": true}')]
    assert await _topic_contents(isolated, isolated.topic_ingest) == []
