"""The whole chain as real processes: events over HTTP → collector → dx.events.v1 → aggregator → daily values and
dx.rollups.v1 → alerter → the shared Alertmanager → the on-call webhook (this test listens on 127.0.0.1:9099).
A private catalog with a unique indicator keeps our Alertmanager group apart from other tests'."""

import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

from shared.settings import Settings
from testing.processes import free_port
from tests.e2e.test_alerter_alertmanager import webhook
from tests.support.alerting import Webhook, chain_processes, fast_alerter, write_catalog
from tests.support.db import add_source
from tests.support.env import eventually

__all__ = ["webhook"]  # the module-scoped receiver on :9099


def event(code: str, observed_at: str, numerator: int) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "indicator": code, "unit": "38", "observed_at": observed_at,
            "numerator": numerator, "denominator": 100}  # fmt: skip


async def test_events_through_the_chain_page_on_call_and_a_correction_resolves_it(
    isolated: Settings, webhook: Webhook, tmp_path: Path
) -> None:
    code = f"t.chain_{uuid.uuid4().hex[:10]}"
    catalog = write_catalog(tmp_path, code)
    port = free_port()
    settings = isolated.model_copy(update={"collector_port": port, "catalog_path": catalog})
    auth = await add_source(settings, "chain-test")
    procs = chain_processes(settings, fast_alerter(settings, catalog, "chain", clock_start=None))
    try:
        for proc in procs:
            proc.start()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30, headers=auth) as client:
            # 40% on 2025-12-15: the 2025 target (50%) is missed, final since 2025-12-31
            sent = await client.post("/v1/events", content=orjson.dumps([event(code, "2025-12-15T10:00:00+07:00", 40)]))
            assert sent.status_code == 202, sent.text

            async def fired() -> list[Any]:
                return [n for n in webhook.for_alert(code, "DxTargetMissed") if n[0] == "firing"]

            (_, (alert,)), *_ = await eventually(fired, timeout=60)
            assert alert["labels"]["unit"] == "38" and alert["labels"]["milestone"] == "2025"
            assert "40%" in alert["annotations"]["description"]

            # a later observation before the deadline: 60% at 2025-12-20 → achieved → resolved
            sent = await client.post("/v1/events", content=orjson.dumps([event(code, "2025-12-20T10:00:00+07:00", 60)]))
            assert sent.status_code == 202, sent.text

        async def resolved() -> list[Any]:
            return [n for n in webhook.for_alert(code, "DxTargetMissed") if n[0] == "resolved"]

        (_, (gone,)), *_ = await eventually(resolved, timeout=60)
        assert gone["startsAt"] == alert["startsAt"]
        assert [n[0] for n in webhook.for_alert(code, "DxTargetMissed")] == ["firing", "resolved"]
    finally:
        for proc in reversed(procs):
            proc.stop()
