"""A yearly statistic through the whole chain as real processes (HTTP → collector → dx.events.v1 → aggregator →
PostgreSQL → alerter → the shared Alertmanager): on 1 January nothing fires on last year's figure, and the year's
own figure, published in the new year with `period`, decides the milestone (docs/judgement.md)."""

import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

from shared.settings import Settings
from testing.processes import free_port
from tests.e2e.test_alerter_alertmanager import webhook
from tests.support.alerting import CATALOG_HEADER, TEST_INDICATOR, Webhook, chain_processes, fast_alerter
from tests.support.db import add_source, fetch
from tests.support.env import eventually

__all__ = ["webhook"]  # the module-scoped receiver on :9099

YEARLY = """
[[indicators]]
code = "{code}"
pillar = "gov"
label_vi = "Chỉ tiêu năm kiểm thử"
label_en = "Yearly test statistic"
measure = "value"
semantics = "snapshot"
reported_at = "province"
display_unit = "%"
min = 0.0
max = 100.0
tolerance = 1.0
reporting_interval_days = 3650
period = "year"
publication_lag_days = 300
targets.2025 = {{ value = 50.0 }}
targets.2030 = {{ value = 80.0 }}
"""
NEW_YEAR = "2025-12-31T17:30:00+00:00"  # 00:30 on 1 January 2026 in Thanh Hóa


def body(code: str, observed_at: str, **measure: Any) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "indicator": code, "unit": "38", "observed_at": observed_at, **measure}


async def status(settings: Settings, code: str) -> Any:
    rows = await fetch(settings, "SELECT status, reason FROM target_status WHERE indicator = $1 AND milestone = '2025'",
                       code)  # fmt: skip
    return rows[0] if rows else None


async def test_a_yearly_figure_is_pending_on_1_january_and_decided_by_its_own_figure_published_later(
    isolated: Settings, webhook: Webhook, tmp_path: Path
) -> None:
    yearly, control = f"t.year_{uuid.uuid4().hex[:10]}", f"t.ctrl_{uuid.uuid4().hex[:10]}"
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(CATALOG_HEADER + YEARLY.format(code=yearly) + TEST_INDICATOR.format(code=control), "utf-8")
    port = free_port()
    settings = isolated.model_copy(update={"collector_port": port, "catalog_path": catalog})
    auth = await add_source(settings, "period-test")
    procs = chain_processes(settings, fast_alerter(settings, catalog, "periods", clock_start=NEW_YEAR))
    try:
        for proc in procs:
            proc.start()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30, headers=auth) as client:
            # last year's figure (2024: 40%, published in October 2025) and a control ratio that misses 2025 (40%)
            sent = await client.post("/v1/events", content=orjson.dumps([
                body(yearly, "2025-10-20T09:00:00+07:00", value=40.0, period="2024"),
                body(control, "2025-12-15T10:00:00+07:00", numerator=40, denominator=100),
            ]))  # fmt: skip
            assert sent.status_code == 202, sent.text
            assert sent.json()["rejected"] == []

            async def control_fired() -> list[Any]:
                return [n for n in webhook.for_alert(control, "DxTargetMissed") if n[0] == "firing"]

            await eventually(control_fired, timeout=60)
            # the control's page was sent in the same reconciliation that saw the yearly target: it is pending
            row = await status(settings, yearly)
            assert row is not None and row["status"] == "pending", row
            assert "dự kiến công bố khoảng 27/10/2026" in row["reason"]
            assert await fetch(settings, "SELECT 1 FROM alerts WHERE indicator = $1", yearly) == []
            assert webhook.for_alert(yearly, "DxTargetMissed") == []

            # the 2025 figure, 45%, published on 1 January 2026 with period "2025", decides the 2025 milestone
            sent = await client.post("/v1/events", content=orjson.dumps([
                body(yearly, "2026-01-01T00:10:00+07:00", value=45.0, period="2025")]))  # fmt: skip
            assert sent.status_code == 202, sent.text

            async def yearly_fired() -> list[Any]:
                return [n for n in webhook.for_alert(yearly, "DxTargetMissed") if n[0] == "firing"]

            (_, (alert,)), *_ = await eventually(yearly_fired, timeout=60)
            assert alert["labels"]["milestone"] == "2025"
            assert "45%" in alert["annotations"]["description"] and "năm 2025" in alert["annotations"]["description"]
    finally:
        for proc in reversed(procs):
            proc.stop()
