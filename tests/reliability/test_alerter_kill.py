"""SIGKILL the alerter while alerts fire, against a private Alertmanager (free port) whose webhook is this test:
a successor re-sends what fires without a new notification, a condition that clears while no alerter runs is
still resolved, and each alert notifies exactly once firing and once resolved (no storm)."""

import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared import names
from shared.settings import Settings
from testing.processes import free_port, wait_http
from tests.reliability.conftest import Tally
from tests.reliability.support import scrape
from tests.support.alerting import Webhook, fast_alerter, webhook_receiver, write_catalog
from tests.support.db import fetch
from tests.support.env import eventually

pytestmark = pytest.mark.e2e
MISSED = names.ALERT_MISSED

AM_CONFIG = """
route:
  receiver: hook
  group_by: [alertname, indicator]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 24h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:{port}/
        send_resolved: true
"""


@pytest.fixture
def webhook() -> Iterator[tuple[Webhook, int]]:
    port = free_port()
    with webhook_receiver(port) as received:
        yield received, port


@pytest.fixture
def alertmanager(webhook: tuple[Webhook, int]) -> Iterator[str]:
    """A private Alertmanager (no cluster) posting to the webhook; yields its URL."""
    with tempfile.TemporaryDirectory(prefix="dx-am-") as tmp:
        config = Path(tmp) / "alertmanager.yml"
        config.write_text(AM_CONFIG.format(port=webhook[1]))
        port = free_port()
        proc = subprocess.Popen(
            ["prometheus-alertmanager", f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}",
             "--cluster.listen-address=", f"--storage.path={tmp}/data"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{url}/-/ready", 30)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)


async def set_values(settings: Settings, codes: list[str], value: float) -> None:
    """The province's value on 2025-12-30 for each indicator: 40 misses the 2025 target of 50, 55 meets it."""
    for code in codes:
        await fetch(
            settings,
            "INSERT INTO daily_values (indicator, unit, day, value) VALUES ($1, '38', $2, $3)"
            " ON CONFLICT (indicator, unit, day) DO UPDATE SET value = EXCLUDED.value",
            code, date(2025, 12, 30), value, role="app",
        )  # fmt: skip


async def sent_since(settings: Settings, codes: list[str], moment: Any) -> bool:
    rows = await fetch(
        settings,
        "SELECT count(*) AS n FROM alerts WHERE state = 'firing' AND last_sent_at > $1 AND indicator = ANY($2)"
        " AND alertname = $3",
        moment, codes, MISSED,
    )  # fmt: skip
    return bool(rows[0]["n"] == len(codes))


async def test_alerter_killed_while_alerts_fire(
    isolated: Settings, alertmanager: str, webhook: tuple[Webhook, int], tmp_path: Path, tally: Tally
) -> None:
    hook = webhook[0]
    codes = [f"t.rel_{uuid.uuid4().hex[:8]}" for _ in range(3)]
    catalog = write_catalog(tmp_path, *codes)
    await set_values(isolated, codes, 40.0)
    proc = fast_alerter(isolated, catalog, "first", alertmanager).start()
    try:

        async def all_fired() -> bool:
            return all(hook.statuses(c, MISSED) == ["firing"] for c in codes)

        await eventually(all_fired, timeout=60)
        proc.kill(signal.SIGKILL)  # while firing
        tally.fault()
        killed_at = (await fetch(isolated, "SELECT now() AS t"))[0]["t"]
        proc = fast_alerter(isolated, catalog, "second", alertmanager).start()  # takes over once the lease expires
        await eventually(lambda: sent_since(isolated, codes, killed_at), timeout=60)  # re-sent, still firing

        proc.kill(signal.SIGKILL)  # again while firing; the condition clears while no alerter runs
        tally.fault()
        await set_values(isolated, codes, 55.0)
        proc = fast_alerter(isolated, catalog, "third", alertmanager).start()

        async def all_resolved() -> bool:
            return all(hook.statuses(c, MISSED)[-1:] == ["resolved"] for c in codes)

        await eventually(all_resolved, timeout=60)
        evaluations = await scrape(proc.ready_url, "dx_alert_evaluations_total")
        await eventually(lambda: _more(proc.ready_url, evaluations + 30), timeout=30)  # the third keeps working
        for code in codes:
            assert hook.statuses(code, MISSED) == ["firing", "resolved"], code  # one notification each: no storm
        async with httpx.AsyncClient(base_url=alertmanager) as client:
            active = (await client.get("/api/v2/alerts", params={"active": "true"})).json()
        assert [a for a in active if a["labels"].get("indicator") in codes and a["labels"]["alertname"] == MISSED] == []
        history = await fetch(
            isolated,
            "SELECT labels->>'indicator' AS code, array_agg(from_state || '>' || to_state ORDER BY id) AS steps"
            " FROM alert_history WHERE alertname = $2 AND labels->>'indicator' = ANY($1) GROUP BY 1",
            codes, MISSED,
        )  # fmt: skip
        assert {r["code"]: r["steps"] for r in history} == {
            c: ["inactive>pending", "pending>firing", "firing>resolved"] for c in codes
        }
        tally.survived()
    finally:
        proc.stop()


async def _more(url: str, n: float) -> bool:
    return await scrape(url, "dx_alert_evaluations_total") >= n
