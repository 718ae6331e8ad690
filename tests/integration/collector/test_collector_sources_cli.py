"""`dx sources add|list|revoke` as a real command against a fresh database; tokens work with the collector."""

import asyncio
import sys

import orjson
from aiokafka.admin import AIOKafkaAdminClient

from shared.adapters.kafka import client_kwargs
from testing.processes import settings_env
from tests.integration.collector.support import collector_settings, ratio_event, running_app


async def dx(settings, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dx.main", *args,
        env={**settings_env(settings), "COLUMNS": "200"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_add_list_revoke_and_the_token_printed_once(isolated):
    code, out = await dx(
        isolated, "sources", "add", "tax-office", "--indicators", "econ.enterprises_dx", "--units", "380@2025-05-01"
    )
    assert code == 0, out
    token = out.strip().splitlines()[-1]
    assert token.startswith("dxs_")
    code, listing = await dx(isolated, "sources", "list")
    assert code == 0 and "tax-office" in listing and "active" in listing
    (listed,) = orjson.loads((await dx(isolated, "sources", "list", "--json"))[1])
    assert listed["indicators"] == ["econ.enterprises_dx"]
    assert listed["units"] == ["380@2025-01-01"]  # the unit, stored as the first day of its version
    assert token not in listing and token.split("_", 2)[2] not in listing

    settings = collector_settings(isolated, collector_ingest_enabled=False, collector_source_cache_ttl_s=0)
    auth = {"Authorization": f"Bearer {token}"}
    event = ratio_event(indicator="econ.enterprises_dx", unit="14758")
    async with running_app(settings) as client:
        assert (await client.post("/v1/events", content=orjson.dumps([event]), headers=auth)).status_code == 202
        assert (await dx(isolated, "sources", "add", "tax-office"))[0] == 1  # active: revoke first
        assert (await dx(isolated, "sources", "revoke", "tax-office"))[0] == 0
        assert (await client.post("/v1/events", content=orjson.dumps([event]), headers=auth)).status_code == 401
        code, out = await dx(isolated, "sources", "add", "tax-office")  # re-issued with a new token
        assert code == 0
        new_auth = {"Authorization": f"Bearer {out.strip().splitlines()[-1]}"}
        assert (await client.post("/v1/events", content=orjson.dumps([event]), headers=new_auth)).status_code == 202
        assert (await client.post("/v1/events", content=orjson.dumps([event]), headers=auth)).status_code == 401


async def test_unknown_codes_and_bad_names_are_refused(isolated):
    code, out = await dx(isolated, "sources", "add", "x", "--indicators", "gov.nothing", "--units", "77777")
    assert code == 2 and "unknown indicator gov.nothing" in out and "unknown unit 77777" in out
    code, out = await dx(isolated, "sources", "add", "Not A Name")
    assert code == 1 and "invalid source name" in out
    assert (await dx(isolated, "sources", "revoke", "nobody"))[0] == 1


async def test_a_bare_unit_code_names_todays_unit_and_an_older_unit_must_be_named_with_its_date(isolated):
    code, out = await dx(isolated, "sources", "add", "ham-rong", "--units", "14758")
    assert code == 0, out
    code, out = await dx(isolated, "sources", "add", "dong-tho", "--units", "14758@2024-06-01")
    assert code == 0, out
    code, listing = await dx(isolated, "sources", "list", "--json")
    units = {s["name"]: s["units"] for s in orjson.loads(listing)}
    assert units == {"ham-rong": ["14758@2025-07-01"], "dong-tho": ["14758@2020-01-01"]}
    code, table = await dx(isolated, "sources", "list")
    assert "Phường Hàm Rồng" in table and "Phường Đông Thọ" in table  # the table names the units

    code, out = await dx(isolated, "sources", "add", "city", "--units", "380")  # no district 380 today
    assert code == 2
    assert "unit 380 is not in force on" in out and "380@2020-01-01 (Thành phố Thanh Hóa)" in out
    code, out = await dx(isolated, "sources", "add", "city", "--units", "380@2025-13-01,14758@")
    assert code == 2 and "2025-13-01 is not a date" in out and "bad unit '14758@'" in out


async def test_a_kafka_source_gets_its_own_topic_and_is_told_its_principal_and_acls(isolated):
    code, out = await dx(isolated, "sources", "add", "xa-kafka", "--kafka")
    assert code == 0, out
    topic = f"{isolated.topic_ingest}.xa-kafka"
    assert f"topic {topic}" in out and "principal User:dx-src-xa-kafka" in out
    assert "deploy/kafka/sasl/source-acls.sh xa-kafka" in out and "--entity-name dx-src-xa-kafka" in out
    assert "the topic name alone is trusted there" in out  # what the dev stack trusts is stated
    admin = AIOKafkaAdminClient(**client_kwargs(isolated))
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    assert (described["error_code"], len(described["partitions"])) == (0, 6)
