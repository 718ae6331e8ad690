"""The alerter's LISTEN connection is reopened after its backend is terminated, and after the postmaster is
SIGKILLed and started again (crash recovery); a rollup arriving afterwards still reaches the leader through NOTIFY:
although the clock-driven evaluation and reconciliation are an hour away, the leader takes the missed target into
its alert state. Real processes; a local HTTP server stands in for Alertmanager's API."""

import uuid
from pathlib import Path

import httpx
import orjson
import pytest

from shared.adapters.migrate import migrate
from shared.domain.catalog import load_catalog
from shared.domain.hierarchy import load_hierarchy
from shared.settings import Settings
from testing.processes import free_port
from tests.reliability.support import aggregator, base_url, collector
from tests.support.alerting import fast_alerter, webhook_receiver, write_catalog
from tests.support.db import add_source, fetch
from tests.support.env import eventually
from tests.support.infra import PrivateInstance

LISTENERS = "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN %'"


async def alert_states(settings: Settings, code: str) -> dict[str, str]:
    rows = await fetch(settings, "SELECT alertname, state FROM alerts WHERE indicator = $1", code)
    return {r["alertname"]: r["state"] for r in rows}


@pytest.mark.parametrize("fault", ["backend terminated", "postmaster SIGKILLed"])
async def test_listen_reopened_after_its_connection_dies_and_a_later_rollup_reaches_the_leader(
    isolated: Settings, tmp_path: Path, request: pytest.FixtureRequest, fault: str
) -> None:
    code = f"t.listen_{uuid.uuid4().hex[:10]}"
    catalog = write_catalog(tmp_path, code)
    api_port = free_port()
    settings = isolated.model_copy(update={"catalog_path": catalog})
    postgres: PrivateInstance | None = None
    if fault == "postmaster SIGKILLed":  # a private cluster: crash recovery on its next start
        postgres = request.getfixturevalue("private_postgres")
        settings = settings.model_copy(update={"pg_port": postgres.port, "pg_database": "dxmon"})
        await migrate(settings, load_catalog(catalog), load_hierarchy())
    auth = await add_source(settings, "listen-test")
    alerter = fast_alerter(settings, catalog, "listen", f"http://127.0.0.1:{api_port}", clock_start=None)
    hour = {"DX_ALERTER_RECONCILE_SECONDS": "3600", "DX_ALERTER_EVAL_INTERVAL_SECONDS": "3600"}
    alerter.extra_env = {**alerter.extra_env, **hour}  # only a notification can bring the alert before then
    coll = collector(settings)
    procs = [coll, aggregator(settings, f"agg-listen-{uuid.uuid4().hex[:8]}"), alerter]
    with webhook_receiver(api_port):
        try:
            for proc in procs:
                proc.start()

            async def listening() -> list[int]:
                return [r["pid"] for r in await fetch(settings, LISTENERS, settings.pg_database, role="alerter")]

            (first,) = await eventually(listening, timeout=30)
            if postgres is None:
                killed = await fetch(settings, "SELECT pg_terminate_backend($1) AS ok", first, role="alerter")
                assert killed[0]["ok"] is True
            else:
                postgres.kill()
                postgres.start()
                log = (postgres.run_dir / "logs" / "postgres.log").read_text(errors="replace")
                assert "was not properly shut down; automatic recovery in progress" in log

            async def reopened() -> list[int]:
                return [pid for pid in await listening() if pid != first]

            await eventually(reopened, timeout=30)
            assert await alert_states(settings, code) == {}
            # 40% on 2025-12-15: the 2025 target (50%) is missed, final since 2025-12-31
            event = {"event_id": str(uuid.uuid4()), "indicator": code, "unit": "38", "numerator": 40,
                     "denominator": 100, "observed_at": "2025-12-15T10:00:00+07:00"}  # fmt: skip
            async with httpx.AsyncClient(base_url=base_url(coll), timeout=30, headers=auth) as client:
                answer = await client.post("/v1/events", content=orjson.dumps([event]))
                assert answer.status_code == 202, answer.text

            async def reconciled() -> bool:  # the leader took the pair from the notification
                return (await alert_states(settings, code)).get("DxTargetMissed") in ("pending", "firing")

            await eventually(reconciled, timeout=60)
            assert alerter.log_path is not None
            assert "LISTEN dx_alerter reopened" in alerter.log_path.read_text(errors="replace")
        finally:
            for proc in reversed(procs):
                proc.stop()
