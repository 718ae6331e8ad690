"""The alerter as real processes against the shared Alertmanager (127.0.0.1:9093), whose on-call webhook points at
http://127.0.0.1:9099/alertmanager: this module listens there. Each test uses its own indicator code (a private
catalog), so the Alertmanager groups (by alertname and indicator) and labels of other tests never mix with ours."""

import signal
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from shared.settings import Settings
from tests.support.alerting import Webhook, fast_alerter, webhook_receiver, write_catalog
from tests.support.env import eventually

WEBHOOK_PORT = 9099


@pytest.fixture(scope="module")
def webhook() -> Iterator[Webhook]:
    with webhook_receiver(WEBHOOK_PORT) as received:
        yield received


@pytest.fixture
def code(tmp_path: Path) -> str:
    return f"t.am_{uuid.uuid4().hex[:10]}"


async def set_value(settings: Settings, code: str, value: float) -> None:
    """The province's value as of 2025-12-30 (judged for the 2025 milestone at the clock's 2026-11-27)."""
    conn = await asyncpg.connect(settings.pg_dsn())
    try:
        await conn.execute(
            """INSERT INTO daily_values (indicator, unit, day, value) VALUES ($1, '38', $2, $3)
               ON CONFLICT (indicator, unit, day) DO UPDATE SET value = EXCLUDED.value""",
            code, date(2025, 12, 30), value,
        )  # fmt: skip
    finally:
        await conn.close()


async def history(settings: Settings, code: str) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(settings.pg_dsn())
    try:
        rows = await conn.fetch(
            "SELECT from_state, to_state FROM alert_history WHERE alertname = 'DxTargetMissed'"
            " AND labels->>'indicator' = $1 ORDER BY id",
            code,
        )
        return [(r[0], r[1]) for r in rows]
    finally:
        await conn.close()


async def test_a_missed_target_reaches_on_call_with_vietnamese_annotations_and_resolves_when_it_clears(
    isolated: Settings, webhook: Webhook, code: str, tmp_path: Path
) -> None:
    await set_value(isolated, code, 40.0)
    proc = fast_alerter(isolated, write_catalog(tmp_path, code), "solo").start()
    try:

        async def fired() -> list[Any]:
            return [n for n in webhook.for_alert(code, "DxTargetMissed") if n[0] == "firing"]

        (_, alerts), *_ = await eventually(fired, timeout=30)
        (alert,) = alerts
        assert alert["labels"] == {
            "alertname": "DxTargetMissed", "indicator": code, "unit": "38",
            "milestone": "2025", "severity": "critical", "pillar": "gov",
        }  # fmt: skip
        assert "Không đạt" in alert["annotations"]["summary"] or "không đạt" in alert["annotations"]["summary"]
        assert "40%" in alert["annotations"]["description"] and "50%" in alert["annotations"]["description"]
        assert alert["annotations"]["dashboard_url"].startswith(isolated.grafana_url)
        assert alert["annotations"]["unit_name"] == "Tỉnh Thanh Hóa"

        await set_value(isolated, code, 55.0)  # the 2025 result is corrected: achieved
        await resolved_once(isolated, webhook, code, alert)
    finally:
        proc.stop()


async def test_killed_and_doubled_alerters_send_one_notification_and_never_lose_the_resolve(
    isolated: Settings, webhook: Webhook, code: str, tmp_path: Path
) -> None:
    catalog = write_catalog(tmp_path, code)
    await set_value(isolated, code, 40.0)
    first, second = fast_alerter(isolated, catalog, "a").start(), fast_alerter(isolated, catalog, "b").start()
    try:

        async def fired() -> list[Any]:
            return [n for n in webhook.for_alert(code, "DxTargetMissed") if n[0] == "firing"]

        (_, (alert,)), *_ = await eventually(fired, timeout=30)
        first.kill(signal.SIGKILL)  # while the alert fires; whichever was the leader, state is in PostgreSQL
        await set_value(isolated, code, 55.0)  # the condition clears while one alerter is dead
        first = fast_alerter(isolated, catalog, "a").start()  # restarted under the same name
        await resolved_once(isolated, webhook, code, alert)
        async with httpx.AsyncClient(base_url=isolated.alertmanager_url) as client:
            in_am = (await client.get("/api/v2/alerts", params={"filter": f'indicator="{code}"'})).json()
        assert [a for a in in_am if a["labels"]["alertname"] == "DxTargetMissed"] == []  # resolved, not re-opened
    finally:
        first.stop()
        second.stop()


async def resolved_once(isolated: Settings, webhook: Webhook, code: str, alert: dict[str, Any]) -> None:
    """The firing alert is resolved by one notification with its startsAt, and its history is complete."""

    async def resolved() -> list[Any]:
        return [n for n in webhook.for_alert(code, "DxTargetMissed") if n[0] == "resolved"]

    (_, (gone,)), *_ = await eventually(resolved, timeout=60)
    assert gone["startsAt"] == alert["startsAt"]
    assert [n[0] for n in webhook.for_alert(code, "DxTargetMissed")] == ["firing", "resolved"]
    assert await history(isolated, code) == [("inactive", "pending"), ("pending", "firing"), ("firing", "resolved")]
