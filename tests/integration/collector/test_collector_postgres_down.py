"""PostgreSQL down (private cluster the test may stop): no token can be checked → 503, readiness says so;
once it is back, requests succeed again."""

import orjson

from shared.adapters.migrate import migrate
from shared.domain.catalog import load_catalog
from shared.domain.hierarchy import load_hierarchy
from tests.integration.collector.support import collector_settings, ratio_event, running_app
from tests.support.db import add_source
from tests.support.env import eventually


async def test_credential_store_down_is_503_then_recovers(isolated, private_postgres):
    settings = collector_settings(
        isolated,
        pg_port=private_postgres.port,
        pg_database="dxmon",
        collector_ingest_enabled=False,
        collector_source_cache_ttl_s=0,
    )
    await migrate(settings, load_catalog(), load_hierarchy())
    auth = await add_source(settings, "portal")
    body = orjson.dumps([ratio_event()])
    async with running_app(settings) as client:
        assert (await client.post("/v1/events", content=body, headers=auth)).status_code == 202

        private_postgres.stop()
        down = await client.post("/v1/events", content=body, headers=auth)
        assert down.status_code == 503, down.text
        assert "nothing was accepted" in down.json()["message"]

        async def not_ready() -> bool:  # /readyz answers from the background check (every second)
            ready = await client.get("/readyz")
            return (ready.status_code, ready.json()["postgres"]) == (503, False)

        await eventually(not_ready, timeout=10)

        private_postgres.start()

        async def back() -> bool:
            response = await client.post("/v1/events", content=body, headers=auth)
            assert response.status_code in (202, 503), response.text
            return response.status_code == 202

        await eventually(back, timeout=60)

        async def ready() -> bool:
            return (await client.get("/readyz")).status_code == 200

        await eventually(ready, timeout=10)
