"""Lineage through the whole chain as real processes (docs/lineage.md): events over HTTP before and after each 2025
version change → collector → dx.events.v1 → aggregator → PostgreSQL → alerter, then `dx status --json` and the
alerter's gauges show Phường Hàm Rồng's value carried from its predecessors, and the former district's target as a
not_applicable row."""

import asyncio
import json
import sys
import uuid
from typing import Any

import httpx
import orjson

from shared.settings import Settings
from testing.processes import ROOT, free_port, settings_env
from tests.support.alerting import chain_processes, fast_alerter
from tests.support.db import add_source, fetch
from tests.support.env import eventually

EID = "gov.eid_users"


def event(unit: str, observed_at: str, numerator: int, denominator: int) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "indicator": EID, "unit": unit, "observed_at": observed_at,
            "numerator": numerator, "denominator": denominator}  # fmt: skip


async def dx_status(settings: Settings, unit: str) -> list[dict[str, Any]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dx.main", "status", "--unit", unit, "--indicator", EID, "--json",
        env=settings_env(settings), cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, _ = await proc.communicate()
    assert proc.returncode == 0
    return json.loads(stdout)  # type: ignore[no-any-return]


async def test_ham_rong_carries_its_predecessors_through_the_chain(isolated: Settings) -> None:
    port = free_port()
    settings = isolated.model_copy(update={"collector_port": port})
    auth = await add_source(settings, "lineage-chain")
    catalog = ROOT / "shared" / "data" / "catalog.toml"
    alerter = fast_alerter(
        settings,
        catalog,
        "lineage",
        alertmanager_url=f"http://127.0.0.1:{free_port()}",
        extra_env={"DX_ALERTER_METRICS_LEVELS": "province,commune"},  # the communes' gauges too
    )
    metrics_url = alerter.ready_url
    procs = chain_processes(settings, alerter)
    try:
        for proc in procs:
            proc.start()
        events = [
            event("14761", "2024-10-01T09:00:00+07:00", 10, 50),  # Nam Ngạn, before 2025-01-01
            event("14755", "2025-05-01T09:00:00+07:00", 30, 50),  # Hàm Rồng of 2025-01, before 2025-07-01
            event("14758", "2025-06-15T09:00:00+07:00", 80, 100),  # Đông Thọ
            event("14848", "2025-08-01T09:00:00+07:00", 7, 10),  # Xã Tam Chung, after 2025-07-01
        ]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30, headers=auth) as client:
            sent = await client.post("/v1/events", content=orjson.dumps(events))
            assert sent.status_code == 202, sent.text

        async def ham_rong_carried() -> bool:
            rows = await fetch(isolated, "SELECT * FROM current_values WHERE indicator=$1 AND unit='14758'", EID)
            return bool(rows) and rows[0]["carried_from"] == 3

        await eventually(ham_rong_carried, timeout=60)

        async def evaluated() -> list[dict[str, Any]]:
            listed = await dx_status(isolated, "14758")
            assert [item["milestone"] for item in listed] == ["2025", "2030"]
            assert all(item["value"] == 60 for item in listed), listed  # (10 + 30 + 80) / (50 + 50 + 100), not 80
            return listed

        await eventually(evaluated, timeout=60)
        district = await dx_status(isolated, "380")
        assert district and all(item["status"] == "not_applicable" for item in district)
        assert all("không còn tồn tại từ 01/07/2025" in item["reason"] for item in district)

        async def gauges() -> str:
            async with httpx.AsyncClient(timeout=10) as client:
                text = (await client.get(metrics_url)).text
            assert f'dx_indicator_value{{indicator="{EID}",unit="14758"}} 60.0' in text
            assert f'dx_indicator_carried_from_units{{indicator="{EID}",unit="14758"}} 3.0' in text
            assert (
                f'dx_indicator_reporting_carried_units{{indicator="{EID}",unit="38"}} 1.0' in text
            )  # Hàm Rồng; Tam Chung reports itself
            return text

        await eventually(gauges, timeout=60)
    finally:
        for proc in reversed(procs):
            proc.stop()
