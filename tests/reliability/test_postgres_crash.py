"""The private PostgreSQL's postmaster SIGKILLed in the middle of aggregation (no clean shutdown: crash recovery on
the next start): the aggregator keeps running, retries, and once PostgreSQL is back every acknowledged event is
applied exactly once with exact totals."""

import uuid

import pytest

from shared.adapters.migrate import migrate
from shared.domain.catalog import load_catalog
from shared.domain.hierarchy import load_hierarchy
from shared.settings import Settings
from tests.reliability.conftest import Tally
from tests.reliability.support import (
    add_source,
    aggregator,
    applied_count,
    base_url,
    collector,
    metrics_url,
    reconcile,
    scrape,
    send_all,
)
from tests.support.env import eventually
from tests.support.infra import PrivateInstance

pytestmark = pytest.mark.e2e


async def test_postmaster_sigkilled_mid_batch_then_restarted_with_exact_totals(
    isolated: Settings, private_postgres: PrivateInstance, tally: Tally
) -> None:
    settings = isolated.model_copy(update={"pg_port": private_postgres.port, "pg_database": "dxmon"})
    await migrate(settings, load_catalog(), load_hierarchy())
    auth = await add_source(settings, "crash")
    coll = collector(settings).start()
    agg = None
    try:
        acked = await send_all(base_url(coll), auth, 6000, seed=33, batch=200)
        # small transactions of 3 batches each (batches join while a backlog waits), so the kill falls between two
        agg = aggregator(
            settings, f"agg-crash-{uuid.uuid4().hex[:8]}", max_records=100, DX_AGGREGATOR_TRANSACTION_EVENTS="300"
        ).start()

        async def midway() -> bool:
            return 1 <= await applied_count(settings) <= len(acked) - 1

        await eventually(midway, timeout=60)
        private_postgres.kill()  # SIGKILL of the postmaster: backends die, the transaction in flight is lost
        tally.fault()

        async def retrying() -> bool:
            assert agg is not None
            return "batch transaction failing, retrying with backoff" in agg.log_tail(400)

        await eventually(retrying, timeout=30)
        private_postgres.start()
        log = (private_postgres.run_dir / "logs" / "postgres.log").read_text(errors="replace")
        assert "was not properly shut down; automatic recovery in progress" in log  # crash recovery ran

        async def drained() -> bool:
            assert agg is not None
            return (
                await applied_count(settings) == len(acked)
                and await scrape(metrics_url(agg), "dx_consumer_lag_messages") == 0
            )

        await eventually(drained, timeout=180)
        assert agg.proc is not None and agg.proc.poll() is None, agg.log_tail()
        await reconcile(settings, acked, tally)
        tally.survived()
    finally:
        if agg is not None:
            agg.stop()
        coll.stop()
