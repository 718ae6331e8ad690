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
from shared.contracts.events import reason_code
from shared.domain.validation import Scope

NOW = datetime(2025, 5, 2, 3, 0, tzinfo=UTC)
SETTINGS = CollectorSettings(collector_ingest_max_message_bytes=1000)


INGEST = SETTINGS.topic_ingest


@dataclass
class Rec:
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    key: bytes | None = b"k"
    topic: str = f"{INGEST}.city"
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
    city = Source("city", "a" * 12, b"x" * 32, Scope(units=frozenset({"380@2025-01-01"})))
    xa_a = Source("xa-a", "c" * 12, b"x" * 32, Scope(units=frozenset({"14758@2025-07-01"})))
    gone = Source("gone", "b" * 12, b"x" * 32, Scope(), revoked_at=NOW)
    return IngestHandler(Intake(catalog, hierarchy), Sources(Repo(city, xa_a, gone), ttl=5), SETTINGS)


async def test_a_valid_message_on_a_sources_topic_is_that_sources_event(handler):
    raw = event()
    out = await handler.handle(Rec(orjson.dumps(raw)), NOW)
    assert (out.topic, out.source, out.errors) == (SETTINGS.topic_events, "city", [])
    assert out.record.key == b"gov.eid_users:14755"
    assert orjson.loads(out.record.value) == {**raw, "source": "city", "received_at": "2025-05-02T03:00:00Z"}


async def test_the_topics_source_scope_applies_and_a_matching_header_is_allowed(handler):
    inside = await handler.handle(Rec(orjson.dumps(event()), headers=(("dx-source", b"city"),)), NOW)
    assert (inside.topic, inside.source) == (SETTINGS.topic_events, "city")
    outside = await handler.handle(Rec(orjson.dumps(event(unit="14809"))), NOW)
    assert outside.topic == SETTINGS.topic_deadletter
    assert outside.errors == ["forbidden: unit: this source may not write unit 14809"]


async def test_no_message_is_accepted_without_a_source_and_no_header_makes_one_source_another(handler):
    """The same unit-14797 event used to be `forbidden` with `dx-source: xa-a` and accepted without the header."""
    raw = orjson.dumps(event(unit="14797", observed_at="2025-08-01T10:00:00+07:00"))
    bare = await handler.handle(Rec(raw, topic=INGEST), NOW.replace(month=8, day=2))
    claimed = await handler.handle(Rec(raw, topic=INGEST, headers=(("dx-source", b"xa-a"),)), NOW)
    other = await handler.handle(Rec(raw, topic=f"{INGEST}.city", headers=(("dx-source", b"xa-a"),)), NOW)
    scoped = await handler.handle(Rec(raw, topic=f"{INGEST}.xa-a"), NOW.replace(month=8, day=2))
    for out in (bare, claimed, other):
        assert out.topic == SETTINGS.topic_deadletter and out.source == "(unauthenticated)"
        assert reason_code(out.errors[0]) == "unauthenticated"
        assert orjson.loads(out.record.value)["source"] is None
    assert bare.errors == [f"unauthenticated: topic: {INGEST} identifies no source: write to {INGEST}.<source> "
                           "as its principal"]  # fmt: skip
    assert other.errors == [f"unauthenticated: dx-source: the header names 'xa-a' but {INGEST}.city is the topic "
                            "of 'city'"]  # fmt: skip
    assert (scoped.source, scoped.errors) == ("xa-a", ["forbidden: unit: this source may not write unit 14797"])
    assert orjson.loads(scoped.record.value)["source"] == "xa-a"


@pytest.mark.parametrize(
    ("value", "topic", "reason"),
    [
        (b"\xff\xfe garbage", "city", "not_utf8"),
        (b"{not json", "city", "invalid_json"),
        (b"", "city", "invalid_json"),
        (None, "city", "invalid_json"),
        (b"x" * 1001, "city", "too_large"),
        (orjson.dumps([event()]), "city", "invalid_field"),
        (orjson.dumps(event(unit="99999")), "city", "unknown_unit"),
        (orjson.dumps(event()), "nobody", "unauthenticated"),
        (orjson.dumps(event()), "gone", "forbidden"),
    ],
)
async def test_bad_messages_are_dead_lettered_with_their_reason_headers_and_source(handler, value, topic, reason):
    headers = (("trace", b"\x00\x01"), ("dx-source", topic.encode()))
    out = await handler.handle(Rec(value, headers=headers, topic=f"{INGEST}.{topic}"), NOW)
    assert out.topic == SETTINGS.topic_deadletter
    assert out.errors[0].startswith(f"{reason}: ")
    doc = orjson.loads(out.record.value)
    assert doc["reason"] == out.errors[0] and doc["reasons"] == out.errors
    assert (doc["source_topic"], doc["source_partition"], doc["source_offset"]) == (f"{INGEST}.{topic}", 2, 41)
    assert doc["service"] == "collector"
    assert doc["source"] == (None if topic == "nobody" else topic)
    assert [(h["key"], base64.b64decode(h["value_b64"])) for h in doc["headers"]] == list(headers)
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
