"""The ingest path's decisions per message: an event on dx.events.v1 or a dead letter with the reason."""

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
import pytest

from services.collector.deadletter import deadletter_record
from services.collector.ingest import IngestHandler
from services.collector.intake import Intake
from services.collector.settings import CollectorSettings
from services.collector.sources import Source, Sources
from shared.domain.validation import Scope

NOW = datetime(2025, 5, 2, 3, 0, tzinfo=UTC)
SETTINGS = CollectorSettings(collector_ingest_max_message_bytes=1000)


@dataclass
class Rec:
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    key: bytes | None = b"k"
    topic: str = "dx.ingest.v1"
    partition: int = 2
    offset: int = 41


class Repo:
    def __init__(self, *sources: Source) -> None:
        self.sources = {s.name: s for s in sources}

    async def by_token_id(self, token_id):
        return None

    async def by_name(self, name):
        return self.sources.get(name)


def event(**over) -> dict[str, object]:
    return {
        "event_id": str(uuid.uuid4()),
        "indicator": "gov.eid_users",
        "unit": "14755",
        "observed_at": "2025-05-01T10:00:00+07:00",
        "numerator": 1,
        "denominator": 2,
        **over,
    }


@pytest.fixture
def handler(catalog, hierarchy):
    city = Source("city", "a" * 12, b"x" * 32, Scope(units=frozenset({"380"})))
    gone = Source("gone", "b" * 12, b"x" * 32, Scope(), revoked_at=NOW)
    return IngestHandler(Intake(catalog, hierarchy), Sources(Repo(city, gone), ttl=5), SETTINGS)


async def test_a_valid_message_goes_to_the_events_topic_from_kafka_ingest(handler):
    raw = event()
    out = await handler.handle(Rec(orjson.dumps(raw)), NOW)
    assert (out.topic, out.source, out.errors) == (SETTINGS.topic_events, "kafka-ingest", [])
    assert out.record.key == b"gov.eid_users:14755"
    assert orjson.loads(out.record.value) == {**raw, "source": "kafka-ingest", "received_at": "2025-05-02T03:00:00Z"}


async def test_the_source_header_names_a_registered_source_whose_scope_applies(handler):
    inside = await handler.handle(Rec(orjson.dumps(event()), headers=(("dx-source", b"city"),)), NOW)
    assert (inside.topic, inside.source) == (SETTINGS.topic_events, "city")
    outside = await handler.handle(Rec(orjson.dumps(event(unit="14809")), headers=(("dx-source", b"city"),)), NOW)
    assert outside.topic == SETTINGS.topic_deadletter
    assert outside.errors == ["forbidden: unit: this source may not write unit 14809"]


@pytest.mark.parametrize(
    ("value", "headers", "reason"),
    [
        (b"\xff\xfe garbage", (), "not_utf8"),
        (b"{not json", (), "invalid_json"),
        (b"", (), "invalid_json"),
        (None, (), "invalid_json"),
        (b"x" * 1001, (), "too_large"),
        (orjson.dumps([event()]), (), "invalid_field"),
        (orjson.dumps(event(unit="99999")), (), "unknown_unit"),
        (orjson.dumps(event()), (("dx-source", b"nobody"),), "unknown_source"),
        (orjson.dumps(event()), (("dx-source", b"Bad Name!"),), "unknown_source"),
        (orjson.dumps(event()), (("dx-source", b"gone"),), "forbidden"),
    ],
)
async def test_bad_messages_are_dead_lettered_with_their_reason(handler, value, headers, reason):
    out = await handler.handle(Rec(value, headers=headers), NOW)
    assert out.topic == SETTINGS.topic_deadletter
    assert out.errors[0].startswith(f"{reason}: ")
    doc = orjson.loads(out.record.value)
    assert doc["reason"] == out.errors[0] and doc["reasons"] == out.errors
    assert (doc["source_topic"], doc["source_partition"], doc["source_offset"]) == ("dx.ingest.v1", 2, 41)
    assert doc["service"] == "collector"
    assert out.record.key == b"k"
    assert out.record.headers == (("dx-reason", reason.encode()),)


def test_a_dead_letter_keeps_the_original_as_text_and_base64():
    rec = deadletter_record(
        key=None,
        value=b"\xffabc",
        topic="t",
        partition=0,
        offset=7,
        errors=["not_utf8: value: x"],
        now=NOW,
        max_original=100,
    )
    doc = orjson.loads(rec.value)
    assert doc["original"] is None and base64.b64decode(doc["original_b64"]) == b"\xffabc"
    assert doc["dead_lettered_at"] == "2025-05-02T03:00:00Z"
    text = orjson.loads(
        deadletter_record(
            key=None, value=b"{x", topic="t", partition=0, offset=7, errors=["e: f: m"], now=NOW, max_original=100
        ).value
    )
    assert text["original"] == "{x" and "original_truncated" not in text


def test_a_huge_original_is_cut_and_says_so():
    rec = deadletter_record(
        key=None,
        value=b"y" * 5000,
        topic="t",
        partition=0,
        offset=7,
        errors=["too_large: value: m"],
        now=NOW,
        max_original=100,
    )
    doc = orjson.loads(rec.value)
    assert doc["original"] is None
    assert base64.b64decode(doc["original_b64"]) == b"y" * 100
    assert (doc["original_truncated"], doc["original_size"]) == (True, 5000)
