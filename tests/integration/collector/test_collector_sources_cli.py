"""`dx sources add|list|revoke` as a real command against a fresh database; tokens work with the collector."""

import asyncio
import sys

import orjson

from testing.processes import settings_env
from tests.integration.collector.support import collector_settings, ratio_event, running_app


async def dx(settings, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dx.main", *args,
        env=settings_env(settings), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_add_list_revoke_and_the_token_printed_once(isolated):
    code, out = await dx(
        isolated, "sources", "add", "tax-office", "--indicators", "econ.enterprises_dx", "--units", "380"
    )
    assert code == 0, out
    token = out.strip().splitlines()[-1]
    assert token.startswith("dxs_")
    code, listing = await dx(isolated, "sources", "list")
    assert code == 0 and "tax-office" in listing and "active" in listing and "econ.enterprises_dx" in listing
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
