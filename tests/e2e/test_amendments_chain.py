"""Corrections through the whole chain as real processes: HTTP → collector → dx.events.v1 → aggregator →
PostgreSQL and dx.rollups.v1 → alerter → the shared Alertmanager (read back through its API v2: its on-call route
for DxTargetMissed only notifies in office hours). A correction of the observation that raised an alert changes
the province's value and resolves the alert; another source cannot retract it; a correction sent twice counts once.
"""

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from shared.settings import Settings
from testing.processes import free_port
from tests.support.alerting import chain_processes, fast_alerter, write_catalog
from tests.support.db import add_source, fetch
from tests.support.env import eventually


def observation(code: str, numerator: int) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "indicator": code, "unit": "38", "observed_at": "2025-12-15T10:00:00+07:00",
            "numerator": numerator, "denominator": 100}  # fmt: skip


async def province(settings: Settings, code: str) -> Any:
    rows = await fetch(
        settings, "SELECT numerator, value FROM current_values WHERE indicator = $1 AND unit = '38'", code
    )
    return rows[0] if rows else None


async def refusals(settings: Settings) -> list[str]:
    rows = await fetch(settings, "SELECT reason FROM event_refusals ORDER BY kafka_offset")
    return [r["reason"].split(":")[0] for r in rows]


async def alerts_in_force(settings: Settings, code: str) -> list[dict[str, Any]]:
    """Alertmanager's alerts of the indicator that have not ended."""
    async with httpx.AsyncClient(base_url=settings.alertmanager_url, timeout=10) as client:
        found = (await client.get("/api/v2/alerts", params={"filter": f'indicator="{code}"'})).json()
    now = datetime.now(UTC)
    return [
        a for a in found if datetime.fromisoformat(a["endsAt"]) > now and a["labels"]["alertname"] == "DxTargetMissed"
    ]


async def test_a_corrected_snapshot_changes_the_province_and_resolves_its_alert(
    isolated: Settings, tmp_path: Path
) -> None:
    code = f"t.corr_{uuid.uuid4().hex[:10]}"
    catalog = write_catalog(tmp_path, code)
    port = free_port()
    settings = isolated.model_copy(update={"collector_port": port, "catalog_path": catalog})
    mine, theirs = await add_source(settings, "corr-office"), await add_source(settings, "corr-intruder")
    procs = chain_processes(settings, fast_alerter(settings, catalog, "corr", clock_start=None))
    try:
        for proc in procs:
            proc.start()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:

            async def post(body: dict[str, Any], auth: dict[str, str]) -> None:
                sent = await client.post("/v1/events", content=orjson.dumps([body]), headers=auth)
                assert sent.status_code == 202, sent.text

            typo = observation(code, 40)  # 40 % on 2025-12-15: the 2025 target (50 %) is missed
            await post(typo, mine)

            async def fired() -> list[Any]:
                return await alerts_in_force(settings, code)

            (alert,) = await eventually(fired, timeout=60)
            assert alert["labels"]["unit"] == "38" and "40%" in alert["annotations"]["description"]

            # another source names the event: answered 202 (it is well formed), refused by the aggregator
            intruder = {k: typo[k] for k in ("indicator", "unit", "observed_at")}
            await post({**intruder, "event_id": str(uuid.uuid4()), "retracts": typo["event_id"]}, theirs)
            await eventually(lambda: _equals(refusals(settings), ["foreign_original"]))
            assert (await province(settings, code))["numerator"] == 40

            fixed = {**typo, "event_id": str(uuid.uuid4()), "corrects": typo["event_id"], "numerator": 60}
            await post(fixed, mine)
            await post(fixed, mine)  # sent twice: counted once
            await eventually(lambda: _equals(refusals(settings), ["foreign_original", "duplicate"]))

        async def resolved() -> bool:
            return not await alerts_in_force(settings, code)

        await eventually(resolved, timeout=60)
        now = await province(settings, code)
        assert now["numerator"] == 60 and float(now["value"]) == 60.0
        rows = await fetch(settings, "SELECT event_id::text AS id, replaced_by::text AS by FROM applied_events")
        assert {r["id"]: r["by"] for r in rows} == {typo["event_id"]: fixed["event_id"], fixed["event_id"]: None}
    finally:
        for proc in reversed(procs):
            proc.stop()


async def _equals(found: Any, expected: list[str]) -> bool:
    return bool(await found == expected)
