"""While the aggregator has a backlog, the alerter starts no alert; once it has caught up, genuine alerts fire and
the false ones never do. `make demo` paged "no new data since 2021" for communes whose newer events were still
queued behind a backfill: this reproduces that with real processes. A unit's only applied observation is from 2021
(stale against a 30-day reporting interval); its newer events, one of which misses the 2025 target, sit in
dx.events.v1 while the aggregator is stopped. A local HTTP server stands in for Alertmanager's API."""

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

from shared import names
from shared.settings import Settings
from testing.processes import ServiceProcess, free_port
from tests.reliability.support import aggregator, base_url, collector, scrape
from tests.support.alerting import fast_alerter, webhook_receiver, write_catalog
from tests.support.db import add_source, fetch
from tests.support.env import eventually

HOLD = 10  # DX_ALERTER_HOLD_BACKLOG_MESSAGES


def event(code: str, observed_at: str, numerator: int) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "indicator": code, "unit": "38", "observed_at": observed_at,
            "numerator": numerator, "denominator": 100}  # fmt: skip


async def alert_names(settings: Settings, code: str) -> list[tuple[str, str]]:
    """(alertname, to_state) of every transition the alerter recorded for `code`."""
    rows = await fetch(settings, "SELECT alertname, to_state FROM alert_history WHERE labels->>'indicator' = $1 "
                       "ORDER BY id", code)  # fmt: skip
    return [(r["alertname"], r["to_state"]) for r in rows]


async def test_no_alert_starts_while_the_aggregator_has_a_backlog_and_genuine_ones_fire_after_it(
    isolated: Settings, tmp_path: Path
) -> None:
    code = f"t.hold_{uuid.uuid4().hex[:10]}"
    catalog = write_catalog(tmp_path, code)
    catalog.write_text(catalog.read_text().replace("reporting_interval_days = 3650", "reporting_interval_days = 30"))
    settings = isolated.model_copy(update={"catalog_path": catalog})
    auth = await add_source(settings, "hold-test")
    group = f"agg-hold-{uuid.uuid4().hex[:8]}"
    api_port = free_port()
    env = {"DX_AGGREGATOR_GROUP": group, "DX_ALERTER_HOLD_BACKLOG_MESSAGES": str(HOLD)}
    alerter = fast_alerter(settings, catalog, "hold", f"http://127.0.0.1:{api_port}", clock_start=None, extra_env=env)
    coll = collector(settings)
    procs: list[ServiceProcess] = [coll]
    with webhook_receiver(api_port):
        try:
            coll.start()
            first = aggregator(settings, group)
            procs.append(first)
            first.start()
            async with httpx.AsyncClient(base_url=base_url(coll), timeout=30, headers=auth) as client:

                async def post(events: list[dict[str, Any]]) -> None:
                    answer = await client.post("/v1/events", content=orjson.dumps(events))
                    assert answer.status_code == 202, answer.text

                await post([event(code, "2021-01-04T10:00:00+07:00", 60)])

                async def applied() -> bool:
                    rows = await fetch(settings, "SELECT 1 FROM current_values WHERE indicator = $1", code)
                    return bool(rows)

                await eventually(applied, timeout=60)
                first.stop()
                procs.remove(first)
                # queued: 40% on 2025-12-15 (the 2025 target, 50%, is missed) and 20 observations of November 2026
                queued = [event(code, "2025-12-15T10:00:00+07:00", 40)]
                queued += [event(code, f"2026-11-{day:02d}T10:00:00+07:00", 45) for day in range(1, 21)]
                await post(queued)

            procs.append(alerter)
            alerter.start()
            metrics = alerter.ready_url

            async def held() -> bool:
                backlog = await scrape(metrics, names.M_AGGREGATOR_BACKLOG)
                return await scrape(metrics, names.M_ALERTS_HELD) == 1 and backlog >= len(queued)

            await eventually(held, timeout=30)

            async def judged_stale() -> bool:
                rows = await fetch(settings, "SELECT stale FROM target_status WHERE indicator = $1 AND stale", code)
                return bool(rows)

            await eventually(judged_stale, timeout=30)  # the condition is there: only the hold keeps it quiet
            await asyncio.sleep(5)  # grace 1 s, reconciliation every 1 s: unheld, the stale alert fires by now
            assert await alert_names(settings, code) == []

            second = aggregator(settings, group)
            procs.insert(1, second)
            second.start()

            async def missed_fired() -> bool:
                return ("DxTargetMissed", "firing") in await alert_names(settings, code)

            await eventually(missed_fired, timeout=90)
            assert await scrape(metrics, names.M_ALERTS_HELD) == 0
            assert all(name != names.ALERT_STALE for name, _ in await alert_names(settings, code))
            rows = await fetch(settings, "SELECT stale FROM target_status WHERE indicator = $1 AND stale", code)
            assert rows == []
        finally:
            for proc in reversed(procs):
                proc.stop()
