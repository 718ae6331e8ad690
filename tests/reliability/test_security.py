"""Security: object-level authorization (source × unit scope at several levels and dates), tokens hashed and
compared in constant time and never shown, per-source rate limits, PostgreSQL least privilege."""

import hashlib
import inspect
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from services.collector.sources import Sources
from shared.settings import Settings
from tests.integration.collector.support import collector_settings, revoke_source, running_app
from tests.reliability.conftest import Tally
from tests.reliability.support import base_url, collector
from tests.support.db import add_source, fetch

pytestmark = pytest.mark.integration

EVENTS: dict[str, tuple[str, str, str]] = {  # name → (indicator, unit, day)
    "commune of 380 (2024)": ("gov.eid_users", "14758", "2024-06-01"),
    "commune of 381 (2024)": ("gov.eid_users", "14812", "2024-06-01"),
    "Đông Sơn commune under 405 (2024)": ("gov.eid_users", "16378", "2024-06-01"),
    "same commune under 380 after the merger (2025-03)": ("gov.eid_users", "16378", "2025-03-01"),
    "14758 after districts were abolished (2025-08)": ("gov.eid_users", "14758", "2025-08-01"),
    "other indicator, commune of 380 (2024)": ("gov.satisfaction", "14758", "2024-06-01"),
    "district 380 itself (2024)": ("soc.districts_dx_completed", "380", "2024-06-01"),
    "district 381 (2024)": ("soc.districts_dx_completed", "381", "2024-06-01"),
    "the province (2024)": ("gov.systems_connected", "38", "2024-06-01"),
}
SOURCES: dict[str, tuple[list[str] | None, list[str] | None, set[str]]] = {  # name → (indicators, units, allowed)
    "province": (None, None, set(EVENTS)),
    "city-380": (None, ["380@2025-03-01"], {
        "commune of 380 (2024)", "same commune under 380 after the merger (2025-03)",
        "other indicator, commune of 380 (2024)", "district 380 itself (2024)"}),
    # 14758 is Phường Hàm Rồng today and was Phường Đông Thọ before 2025-07-01: a bare code names today's unit
    "ward-14758": (None, ["14758"], {"14758 after districts were abolished (2025-08)"}),
    "dong-tho": (None, ["14758@2024-06-01"], {"commune of 380 (2024)", "other indicator, commune of 380 (2024)"}),
    "eid-only": (["gov.eid_users"], None, {n for n, e in EVENTS.items() if e[0] == "gov.eid_users"}),
}  # fmt: skip


def _event(indicator: str, unit: str, day: str) -> dict[str, Any]:
    import uuid

    body: dict[str, Any] = {"event_id": str(uuid.uuid4()), "indicator": indicator, "unit": unit,
                            "observed_at": f"{day}T10:00:00+07:00"}  # fmt: skip
    if indicator == "soc.districts_dx_completed":
        return {**body, "value": 1.0}
    return {**body, "numerator": 3, "denominator": 4}


async def test_every_source_writes_exactly_its_own_units_and_indicators(isolated: Settings, tally: Tally) -> None:
    settings = collector_settings(isolated, collector_ingest_enabled=False)
    auths = {name: await add_source(settings, name, ind, units) for name, (ind, units, _) in SOURCES.items()}
    outcome: dict[tuple[str, str], Any] = {}
    async with running_app(settings) as client:
        for source, (_, _, allowed) in SOURCES.items():
            for name, spec in EVENTS.items():
                response = await client.post("/v1/events", content=orjson.dumps([_event(*spec)]), headers=auths[source])
                errors = response.json()["rejected"][0]["errors"] if response.status_code == 422 else []
                outcome[(source, name)] = response.status_code if not errors else errors[0].split(":")[0]
                if name not in allowed:
                    tally.bad_input(outcome[(source, name)] == "forbidden")
    expected = {(s, n): 202 if n in SOURCES[s][2] else "forbidden" for s in SOURCES for n in EVENTS}
    assert outcome == expected


async def test_tokens_are_stored_hashed_compared_in_constant_time_and_never_shown(
    isolated: Settings, tally: Tally
) -> None:
    auth = await add_source(isolated, "portal")
    revoked = await add_source(isolated, "old-portal")
    await revoke_source(isolated, "old-portal")
    token = auth["Authorization"].removeprefix("Bearer ")
    secret = token.split("_", 2)[2]  # dxs_<id>_<secret>
    (row,) = await fetch(isolated, "SELECT * FROM sources WHERE name = 'portal'")
    assert bytes(row["token_hash"]) == hashlib.sha256(secret.encode()).digest()
    assert all(secret not in str(value) and token not in str(value) for value in row.values())
    assert "hmac.compare_digest(" in inspect.getsource(Sources.authenticate)

    proc = collector(isolated, DX_LOG_LEVEL="DEBUG", DX_COLLECTOR_SOURCE_CACHE_TTL_S="0").start()
    wrong = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    try:
        async with httpx.AsyncClient(base_url=base_url(proc), timeout=30) as client:
            body = orjson.dumps([_event("gov.eid_users", "14758", "2024-06-01")])
            answers = [
                await client.post("/v1/events", content=body, headers=h)
                for h in (auth, {"Authorization": f"Bearer {wrong}"}, revoked, {"Authorization": f"Token {token}"})
            ]
    finally:
        proc.stop()
    assert [a.status_code for a in answers] == [202, 401, 401, 401]
    shown = [a.text + str(a.headers) for a in answers] + [proc.log_tail(1_000_000)]
    secrets = [token, secret, wrong.split("_", 2)[2], revoked["Authorization"].split("_", 2)[2]]
    for text in shown:
        for s in secrets:
            tally.bad_input(s not in text)
            assert s not in text


async def test_rate_limits_are_per_source(isolated: Settings, tally: Tally) -> None:
    settings = collector_settings(
        isolated, collector_ingest_enabled=False, collector_max_events=10, collector_rate_burst=10,
        collector_rate_events_per_s=0.5,
    )  # fmt: skip
    noisy, quiet = await add_source(settings, "noisy"), await add_source(settings, "quiet")
    batch = [_event("gov.eid_users", "14758", "2024-06-01") for _ in range(10)]
    async with running_app(settings) as client:
        first = await client.post("/v1/events", content=orjson.dumps(batch), headers=noisy)
        again = await client.post("/v1/events", content=orjson.dumps(batch[:5]), headers=noisy)
        other = await client.post("/v1/events", content=orjson.dumps(batch[5:]), headers=quiet)
    assert (first.status_code, again.status_code, other.status_code) == (202, 429, 202)
    assert int(again.headers["Retry-After"]) >= 1
    tally.bad_input(again.status_code == 429)


async def test_postgres_roles_have_least_privilege(db_settings: Settings) -> None:
    tables = [
        r["t"] for r in await fetch(db_settings, "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'")
    ]
    assert len(tables) >= 10
    privileges = await fetch(
        db_settings,
        "SELECT t, r, p, has_table_privilege(r, 'public.' || t, p) AS yes FROM unnest($1::text[]) AS t,"
        " unnest(ARRAY[$2, $3]) AS r, unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES',"
        "'TRIGGER']) AS p",
        tables, db_settings.pg_grafana_user, db_settings.pg_user,
    )  # fmt: skip
    granted = {(r["t"], r["r"], r["p"]) for r in privileges if r["yes"]}
    secret = {"sources", "alerter_lease"}
    grafana, app = db_settings.pg_grafana_user, db_settings.pg_user
    readable = {(t, p) for t, r, p in granted if r == grafana}
    assert {p for _, p in readable} == {"SELECT"}
    assert {t for t, _ in readable} >= {"current_values", "daily_values", "target_status", "units", "indicators"}
    assert not secret & {t for t, _ in readable}
    assert {p for t, r, p in granted if r == app} <= {"SELECT", "INSERT", "UPDATE", "DELETE"}
    owners = {r["o"] for r in await fetch(db_settings, "SELECT DISTINCT tableowner AS o FROM pg_tables "
                                                        "WHERE schemaname = 'public'")}  # fmt: skip
    assert owners == {db_settings.pg_owner_user}

    for role, statements in {
        "app": ["DROP TABLE applied_events", "ALTER TABLE sources ADD COLUMN x int", "CREATE TABLE x (y int)",
                "TRUNCATE applied_events", "CREATE SCHEMA x", "CREATE FUNCTION f() RETURNS int AS 'SELECT 1' "
                "LANGUAGE sql"],
        "grafana": ["SELECT * FROM sources", "SELECT * FROM alerter_lease", "DELETE FROM current_values",
                    "UPDATE indicators SET label_en = 'x'", "INSERT INTO applied_events (event_id) VALUES "
                    "(gen_random_uuid())", "CREATE TABLE x (y int)", "DROP TABLE units"],
    }.items():  # fmt: skip
        conn = await asyncpg.connect(db_settings.pg_dsn(role))
        try:
            await conn.execute("SET default_transaction_read_only = off")  # test the grants, not only this guard
            for statement in statements:
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute(statement)
        finally:
            await conn.close()
