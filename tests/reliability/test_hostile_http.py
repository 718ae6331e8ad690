"""Hostile input against a real collector process (real broker and database): named attacks, SQL injection in every
text field, property-based bodies (hypothesis) and schemathesis on the OpenAPI document. Every answer is a clear
4xx with a reason (never a 500), valid events in the same batch still land, and the process logs no error."""

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.domain.catalog import load_catalog
from shared.domain.hierarchy import load_hierarchy
from shared.settings import Settings
from testing.processes import ServiceProcess
from testing.sandbox import create_database, create_topics, delete_topics, drop_database
from tests.integration.collector.support import ratio_event, read_topic, with_ids
from tests.reliability.conftest import Tally
from tests.reliability.support import base_url, collector
from tests.support.db import add_source, fetch

pytestmark = pytest.mark.e2e

REASON = re.compile(r"^[a-z_]+: .+: .+", re.DOTALL)  # code: field: message
INJECTIONS = [
    "'; DROP TABLE sources; --",
    "1' OR '1'='1",
    "\\'; TRUNCATE applied_events; --",
    "$$; DELETE FROM current_values; $$",
    "14755); DROP TABLE units; --",
    "gov.eid_users' UNION SELECT token_hash FROM sources --",
]


@dataclass
class Api:
    settings: Settings
    proc: ServiceProcess
    url: str
    auth: dict[str, str]

    async def post(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as client:
            return await client.post("/v1/events", content=body, headers=headers or self.auth)

    def assert_no_server_error_logged(self) -> None:
        log = self.proc.log_tail(100_000)
        assert "Traceback" not in log and "Exception in ASGI" not in log, log[-3000:]


@pytest.fixture(scope="module")
async def api() -> AsyncIterator[Api]:
    base = Settings()
    db = await create_database(base, load_catalog(), load_hierarchy())
    try:
        settings = await create_topics(db)
        auth = await add_source(settings, "hostile")
        proc = collector(settings, DX_COLLECTOR_SOURCE_CACHE_TTL_S="60").start()
        try:
            yield Api(settings, proc, base_url(proc), auth)
        finally:
            proc.stop()
            await delete_topics(settings)
    finally:
        await drop_database(base, db.pg_database)


def _event(**over: Any) -> dict[str, Any]:
    return ratio_event(**over)


def _raw_event(fragment: str) -> bytes:
    """A JSON array with one event whose text ends with `fragment` (for what orjson.dumps cannot write)."""
    head = orjson.dumps({k: v for k, v in _event().items() if k not in ("numerator", "denominator")})[:-1]
    return b"[" + head + b"," + fragment.encode() + b"}]"


# fmt: off
CASES: list[tuple[str, Callable[[], bytes], set[int]]] = [
    ("over 1 MiB", lambda: b"[" + b" " * (1024 * 1024) + b"]", {413}),
    ("1,001 events", lambda: orjson.dumps([_event() for _ in range(1001)]), {413}),
    ("nested 100,000 deep", lambda: b"[" * 100_000 + b"]" * 100_000, {413}),  # refused before parsing
    ("nested 1,000 deep in a field", lambda: orjson.dumps([_event(unit=None)])[:-2] + b',"unit":' +
     b"[" * 1000 + b"]" * 1000 + b"}]", {400, 422}),
    ("NaN numerator", lambda: _raw_event('"numerator": NaN, "denominator": 10'), {400}),
    ("Infinity denominator", lambda: _raw_event('"numerator": 1, "denominator": Infinity'), {400}),
    ("-Infinity", lambda: _raw_event('"numerator": -Infinity, "denominator": 1'), {400}),
    ("1e400", lambda: _raw_event('"numerator": 1, "denominator": 1e400'), {400}),
    ("duplicate key", lambda: _raw_event('"numerator": 1, "denominator": 10, "numerator": 9'), {400}),
    ("duplicate events key", lambda: b'{"events": [], "events": ' + orjson.dumps([_event()]) + b"}", {400}),
    ("lone surrogate", lambda: _raw_event('"numerator": 1, "denominator": 2, "x": "\\ud800"'), {400}),
    ("invalid UTF-8", lambda: b'[{"unit": "\xff\xfe"}]', {400}),
    ("byte order mark", lambda: b"\xef\xbb\xbf" + orjson.dumps([_event()]), {400}),
    ("empty body", lambda: b"", {400}),
    ("null", lambda: b"null", {400}),
    ("a string", lambda: b'"events"', {400}),
    ("an object without events", lambda: b'{"event": []}', {400}),
    ("events not a list", lambda: b'{"events": {"0": {}}}', {400}),
    ("empty batch", lambda: b"[]", {400}),
    ("numerator as a string", lambda: orjson.dumps([_event(numerator="40")]), {422}),
    ("numerator as a float", lambda: orjson.dumps([_event(numerator=40.0)]), {422}),
    ("numerator as true", lambda: orjson.dumps([_event(numerator=True)]), {422}),
    ("numerator over 10**12", lambda: orjson.dumps([_event(numerator=10**17, denominator=10**18)]), {422}),
    ("numerator 2**64", lambda: _raw_event(f'"numerator": {2**64}, "denominator": {2**64 + 1}'), {400, 422}),
    ("negative numerator", lambda: orjson.dumps([_event(numerator=-1)]), {422}),
    ("event_id as a number", lambda: orjson.dumps([_event(event_id=12345)]), {422}),
    ("unit as a number", lambda: orjson.dumps([_event(unit=14755)]), {422}),
    ("observed_at as epoch", lambda: orjson.dumps([_event(observed_at=1_746_000_000)]), {422}),
    ("observed_at without offset", lambda: orjson.dumps([_event(observed_at="2025-05-01T10:00:00")]), {422}),
    ("event as a list", lambda: orjson.dumps([[1, 2, 3]]), {422}),
    ("unknown field", lambda: orjson.dumps([_event(source="someone-else")]), {422}),
    ("Cyrillic і in the indicator", lambda: orjson.dumps([_event(indicator="gov.e\u0456d_users")]), {422}),
    ("fullwidth indicator", lambda: orjson.dumps([_event(indicator="\uff47\uff4f\uff56.eid_users")]), {422}),
    ("dotless ı in the indicator", lambda: orjson.dumps([_event(indicator="gov.e\u0131d_users")]), {422}),
    ("upper-case indicator", lambda: orjson.dumps([_event(indicator="GOV.EID_USERS")]), {422}),
    ("fullwidth unit digits", lambda: orjson.dumps([_event(unit="\uff11\uff14\uff17\uff15\uff15")]), {422}),
    ("Arabic-Indic unit digits", lambda: orjson.dumps([_event(unit="\u0661\u0664\u0667\u0665\u0665")]), {422}),
    ("zero-width space in unit", lambda: orjson.dumps([_event(unit="14755\u200b")]), {422}),
    ("unit with a leading space", lambda: orjson.dumps([_event(unit=" 14755")]), {422}),
    ("fullwidth event_id", lambda: orjson.dumps([_event(event_id="\uff11" * 8 + "-1234-4234-8234-1234567890ab")]),
     {422}),
    ("fullwidth observed_at", lambda: orjson.dumps([_event(observed_at="\uff12025-05-01T10:00:00+07:00")]), {422}),
    ("Cyrillic а in a field name", lambda: orjson.dumps([{**_event(), "numer\u0430tor": 1}]), {422}),
    ("NUL in the unit", lambda: orjson.dumps([_event(unit="147\u000055")]), {422}),
]
# fmt: on


async def test_named_hostile_bodies_get_a_clear_4xx(api: Api, tally: Tally) -> None:
    wrong = []
    for name, body, expected in CASES:
        response = await api.post(body())
        handled = response.status_code in expected and _explained(response)
        if not tally.bad_input(handled):
            wrong.append((name, response.status_code, response.text[:200]))
    assert not wrong
    api.assert_no_server_error_logged()


@pytest.mark.parametrize("field", ["event_id", "indicator", "unit", "observed_at"])
async def test_sql_injection_in_every_text_field_is_a_422_and_changes_nothing(
    api: Api, tally: Tally, field: str
) -> None:
    before = await _row_counts(api.settings)
    for text in INJECTIONS:
        response = await api.post(orjson.dumps([_event(**{field: text})]))
        tally.bad_input(response.status_code == 422 and _explained(response))
        assert response.status_code == 422, response.text
        assert response.json()["rejected"][0]["errors"][0].split(":")[1].strip() == field
    for text in INJECTIONS:  # and in the credential
        response = await api.post(orjson.dumps([_event()]), {"Authorization": f"Bearer dxs_{text}"})
        tally.bad_input(response.status_code == 401)
        assert response.status_code == 401
    assert await _row_counts(api.settings) == before


async def test_valid_events_in_a_hostile_batch_still_land(api: Api, tally: Tally) -> None:
    valid = [_event(unit=u) for u in ("14755", "14758", "14797")]
    hostile: list[Any] = [
        _event(indicator=INJECTIONS[0]), _event(unit="\uff11\uff14\uff17\uff15\uff15"), _event(numerator="1"),
        [1, 2], None, "event", 3.5, {"nested": {"deep": [[[[{}]]]]}}, _event(numerator=10, denominator=0),
        _event(indicator="gov.e\u0456d_users"), _event(extra=True), {},
    ]  # fmt: skip
    batch = [valid[0], *hostile[:6], valid[1], *hostile[6:], valid[2]]
    response = await api.post(orjson.dumps(batch))
    assert response.status_code == 202
    doc = response.json()
    assert doc["accepted"] == 3
    rejected = {r["index"] for r in doc["rejected"] if r["errors"] and all(_reason(e) for e in r["errors"])}
    for index, item in enumerate(batch):
        if item not in valid:
            tally.bad_input(index in rejected)
    assert rejected == {i for i, item in enumerate(batch) if item not in valid}
    await read_topic(api.settings, api.settings.topic_events, with_ids({e["event_id"] for e in valid}))


TEXT = st.text(st.characters(codec="utf-8"), max_size=40)
SCALAR = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False) | TEXT
JSON = st.recursive(
    SCALAR.filter(lambda x: not isinstance(x, float) or abs(x) != float("inf")),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=12,
)
FIELDS = ["event_id", "indicator", "unit", "observed_at", "numerator", "denominator", "value"]
EVENTISH = st.dictionaries(st.sampled_from(FIELDS) | TEXT, JSON, max_size=8)


async def test_property_any_json_body_is_answered_with_a_clear_4xx_or_202(api: Api, tally: Tally) -> None:
    results: list[tuple[bool, str]] = []

    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(body=st.one_of(JSON, st.lists(EVENTISH, max_size=5), st.fixed_dictionaries({"events": st.lists(EVENTISH)})))
    def check(body: Any) -> None:
        response = httpx.post(f"{api.url}/v1/events", content=orjson.dumps(body), headers=api.auth, timeout=30)
        ok = response.status_code in (202, 400, 413, 422) and _explained(response)
        results.append((ok, f"{response.status_code} {response.text[:120]} for {str(body)[:120]}"))
        assert ok, results[-1][1]

    try:
        await asyncio.to_thread(check)
    finally:
        for ok, _ in results:
            tally.bad_input(ok)
    api.assert_no_server_error_logged()


async def test_schemathesis_finds_no_server_error_in_the_openapi_document(api: Api, tally: Tally) -> None:
    import schemathesis
    from schemathesis.checks import not_a_server_error

    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    outcomes: list[bool] = []

    def run() -> None:
        for operation in schema.get_all_operations():
            op = operation.ok()  # type: ignore[union-attr]

            @settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            @given(case=op.as_strategy())
            def check(case: Any) -> None:
                response = case.call(base_url=api.url, headers=api.auth)
                ok = response.status_code < 500
                outcomes.append(ok)
                case.validate_response(response, checks=[not_a_server_error])

            check()

    try:
        await asyncio.to_thread(run)
    finally:
        for ok in outcomes:
            tally.bad_input(ok)
    assert len(outcomes) >= 60
    api.assert_no_server_error_logged()


def _reason(error: str) -> bool:
    return REASON.match(error) is not None


def _explained(response: httpx.Response) -> bool:
    """A 4xx says why: {"error","message"} or per-event reasons `code: field: message`."""
    try:
        doc = response.json()
    except ValueError:
        return False
    if response.status_code in (202, 422):
        return all(r["errors"] and all(_reason(e) for e in r["errors"]) for r in doc["rejected"])
    return bool(doc.get("error")) and bool(doc.get("message"))


async def _row_counts(settings: Settings) -> dict[str, int]:
    tables = ["sources", "units", "indicators", "applied_events", "current_values"]
    return {t: int((await fetch(settings, f"SELECT count(*) AS n FROM {t}"))[0]["n"]) for t in tables}
