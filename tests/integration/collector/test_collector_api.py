"""POST /v1/events against the real broker and database: what reaches dx.events.v1, and every refusal."""

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import orjson
import pytest

from services.collector.settings import CollectorSettings
from shared.contracts.keys import pair_key
from shared.domain.catalog import load_catalog
from shared.domain.hierarchy import load_hierarchy
from shared.settings import Settings
from testing.sandbox import create_database, create_topics, delete_topics, drop_database
from tests.integration.collector.support import (
    add_source,
    collector_settings,
    only,
    ratio_event,
    read_topic,
    revoke_source,
    running_app,
    with_ids,
)

BIM_SON = "Thị xã Bỉm Sơn"


@dataclass
class Collector:
    settings: CollectorSettings
    client: httpx.AsyncClient
    auth: dict[str, str]

    async def post(self, body: object, auth: dict[str, str] | None = None) -> httpx.Response:
        return await self.client.post("/v1/events", content=orjson.dumps(body), headers=auth or self.auth)


@pytest.fixture(scope="module")
async def collector() -> AsyncIterator[Collector]:
    """One app for the module (fresh database and topics); the token cache is off so revocations apply at once."""
    base = Settings()
    db = await create_database(base, load_catalog(), load_hierarchy())
    try:
        settings = collector_settings(
            await create_topics(db), collector_ingest_enabled=False, collector_source_cache_ttl_s=0
        )
        auth = await add_source(settings, "portal")
        try:
            async with running_app(settings) as client:
                yield Collector(settings, client, auth)
        finally:
            await delete_topics(settings)
    finally:
        await drop_database(base, db.pg_database)


async def test_accepted_events_arrive_exactly_as_sent_plus_source_and_received_at(collector):
    events = [ratio_event(), ratio_event(unit="14758", numerator=3, denominator=9), ratio_event(numerator=0)]
    response = await collector.post({"events": events})
    assert response.status_code == 202
    assert response.json() == {"accepted": 3, "rejected": []}
    ids = {e["event_id"] for e in events}
    records = only(await read_topic(collector.settings, collector.settings.topic_events, with_ids(ids)), ids)
    by_id = {orjson.loads(r.value)["event_id"]: r for r in records}
    assert len(records) == 3
    for sent in events:
        record = by_id[sent["event_id"]]
        got = orjson.loads(record.value)
        assert record.key == pair_key(sent["indicator"], sent["unit"])
        assert {k: got[k] for k in sent} == sent
        assert set(got) == set(sent) | {"source", "received_at"}
        assert got["source"] == "portal"
        assert got["received_at"].endswith("Z")


@pytest.mark.parametrize(
    ("over", "reason_text"),
    [
        ({"event_id": "not-a-uuid"}, "invalid_field: event_id:"),
        ({"indicator": None}, "missing_field: indicator:"),
        ({"colour": "red"}, "unknown_field: colour:"),
        ({"source": "someone-else"}, "unknown_field: source:"),
        ({"observed_at": "yesterday"}, "invalid_timestamp: observed_at:"),
        ({"observed_at": "2099-01-01T00:00:00Z"}, "observed_in_future: event: observed_at is in the future"),
        ({"observed_at": "2019-06-01T00:00:00+07:00"}, "observed_too_old: event: observed_at is before 2020-01-01"),
        ({"numerator": 5, "denominator": 4}, "out_of_range: event: numerator must not exceed denominator"),
        ({"numerator": None, "denominator": None, "value": 50.0}, "wrong_measure: value: gov.eid_users is a ratio"),
        ({"indicator": "gov.unknown"}, "unknown_indicator: indicator:"),
        ({"unit": "99999"}, "unknown_unit: unit: unit 99999 does not exist"),
        ({"unit": "14788"}, "unit_not_in_force: unit: unit 14788 is not in force on 2025-05-01"),
        ({"unit": "380"}, "wrong_level: unit: gov.eid_users is reported per commune"),
    ],
)
async def test_each_rejection_reason_gives_422_and_the_reason(collector, over, reason_text):
    event = ratio_event(**over)
    response = await collector.post([event])
    assert response.status_code == 422
    [rejected] = response.json()["rejected"]
    assert response.json()["accepted"] == 0
    assert rejected["index"] == 0
    assert rejected["errors"][0].startswith(reason_text), rejected["errors"]


async def test_a_mixed_batch_is_202_with_exactly_the_bad_indices(collector):
    events = [ratio_event(), ratio_event(unit="1"), ratio_event(), ratio_event(numerator=-1), ratio_event()]
    batch = [*events[:4], "junk", events[4]]
    response = await collector.post(batch)
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 3
    assert [(r["index"], r["event_id"]) for r in body["rejected"]] == [
        (1, events[1]["event_id"]),
        (3, events[3]["event_id"]),
        (4, None),
    ]
    ids = {events[i]["event_id"] for i in (0, 2, 4)}
    bad = {events[i]["event_id"] for i in (1, 3)}
    records = await read_topic(collector.settings, collector.settings.topic_events, with_ids(ids))
    assert not only(records, bad)


async def test_a_district_scoped_source_cannot_write_another_district_or_its_communes(collector):
    auth = await add_source(collector.settings, "city-office", units=["380"])
    own, other_district, other_commune = ratio_event(unit="14758"), ratio_event(unit="381"), ratio_event(unit="14809")
    response = await collector.post([own, other_district, other_commune], auth)
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 1
    assert [(r["index"], r["errors"]) for r in body["rejected"]] == [
        (
            1,
            [f"wrong_level: unit: gov.eid_users is reported per commune; 381 ({BIM_SON}) is a district on 2025-05-01"],
        ),
        (2, ["forbidden: unit: this source may not write unit 14809"]),
    ]
    district_event = ratio_event(
        indicator="soc.districts_dx_completed", unit="381", value=1.0, numerator=None, denominator=None
    )
    response = await collector.post([district_event], auth)
    assert (response.status_code, response.json()["rejected"][0]["errors"]) == (
        422,
        ["forbidden: unit: this source may not write unit 381"],
    )


async def test_an_indicator_scoped_source_cannot_write_other_indicators(collector):
    auth = await add_source(collector.settings, "survey", indicators=["gov.satisfaction"])
    response = await collector.post([ratio_event(indicator="gov.satisfaction"), ratio_event()], auth)
    assert response.status_code == 202
    assert response.json() == {
        "accepted": 1,
        "rejected": [
            {
                "index": 1,
                "event_id": response.json()["rejected"][0]["event_id"],
                "errors": ["forbidden: indicator: this source may not write gov.eid_users"],
            }
        ],
    }


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic dXNlcjpwdw=="}],
)
async def test_a_missing_or_malformed_token_is_401(collector, headers):
    response = await collector.client.post("/v1/events", content=orjson.dumps([ratio_event()]), headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"] == "unauthorized"


async def test_a_wrong_secret_and_a_revoked_token_are_401(collector):
    auth = await add_source(collector.settings, "short-lived")
    forged = {
        "Authorization": auth["Authorization"][:-3] + ("aaa" if not auth["Authorization"].endswith("aaa") else "bbb")
    }
    response = await collector.post([ratio_event()], forged)
    assert (response.status_code, response.json()["message"]) == (401, "unknown token")
    assert (await collector.post([ratio_event()], auth)).status_code == 202
    await revoke_source(collector.settings, "short-lived")
    response = await collector.post([ratio_event()], auth)
    assert (response.status_code, response.json()["message"]) == (401, "revoked token")


async def test_unparseable_json_and_wrong_shapes_are_400(collector):
    response = await collector.client.post("/v1/events", content=b'[{"event_id": ', headers=collector.auth)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_json")
    response = await collector.post({"items": []})
    assert (response.status_code, response.json()["error"]) == (400, "invalid_body")


async def test_too_many_events_or_bytes_is_413(collector):
    response = await collector.post([ratio_event() for _ in range(1001)])
    assert response.status_code == 413
    assert "1001 events" in response.json()["message"]
    big = b"[" + b" " * (1024 * 1024) + b"]"
    response = await collector.client.post("/v1/events", content=big, headers=collector.auth)
    assert response.status_code == 413


async def test_a_chunked_body_over_the_limit_is_413_without_reading_it_all(collector):
    pulled: list[int] = []

    async def stream():
        for _ in range(64):  # 64 × 64 KiB = 4 MiB offered, no Content-Length
            pulled.append(1)
            yield b" " * 65536

    response = await collector.client.post("/v1/events", content=stream(), headers=collector.auth)
    assert response.status_code == 413
    assert len(pulled) < 64


async def test_health_readiness_and_metrics(collector):
    assert (await collector.client.get("/healthz")).status_code == 200
    ready = await collector.client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"kafka": True, "postgres": True})
    await collector.post([ratio_event(), ratio_event(unit="99999")])
    text = (await collector.client.get("/metrics")).text
    assert 'dx_events_received_total{source="portal"}' in text
    assert 'dx_events_accepted_total{source="portal"}' in text
    assert 'dx_events_rejected_total{reason="unknown_unit",source="portal"}' in text
    assert "dx_collector_publish_duration_seconds_bucket" in text
    assert (await collector.client.get("/docs")).status_code == 200
    paths = (await collector.client.get("/openapi.json")).json()["paths"]
    assert "/v1/events" in paths


async def test_over_the_rate_limit_is_429_with_retry_after(isolated):
    settings = collector_settings(
        isolated, collector_ingest_enabled=False, collector_rate_events_per_s=100, collector_rate_burst=1000
    )
    auth = await add_source(settings, "noisy")
    async with running_app(settings) as client:
        full = orjson.dumps([ratio_event() for _ in range(1000)])
        first = await client.post("/v1/events", content=full, headers=auth)
        assert first.status_code == 202
        second = await client.post(
            "/v1/events", content=orjson.dumps([ratio_event() for _ in range(500)]), headers=auth
        )
        assert second.status_code == 429
        assert 1 <= int(second.headers["retry-after"]) <= 5
        other = await add_source(settings, "quiet")
        assert (
            await client.post("/v1/events", content=orjson.dumps([ratio_event()]), headers=other)
        ).status_code == 202
