"""Aggregators scaled 1 → 2 → 1 under HTTP load, the second step by SIGKILL: exact totals, and no deadlock storm
(PostgreSQL's deadlock counter for the test's database and the processes' logs)."""

import asyncio
import re
import signal
import uuid

import pytest

from shared.settings import Settings
from tests.reliability.conftest import Tally
from tests.reliability.support import Load, aggregator, base_url, collector, reconcile
from tests.support.db import add_source, fetch
from tests.support.env import eventually

pytestmark = pytest.mark.e2e


async def deadlocks(settings: Settings) -> int:
    rows = await fetch(settings, "SELECT deadlocks FROM pg_stat_database WHERE datname = $1", settings.pg_database)
    return int(rows[0]["deadlocks"])


async def test_one_two_one_aggregators_under_load_with_a_kill(isolated: Settings, tally: Tally) -> None:
    group = f"agg-scale-{uuid.uuid4().hex[:8]}"
    auth = await add_source(isolated, "scale")
    coll = collector(isolated).start()
    first = aggregator(isolated, group, max_records=200).start()
    second = None
    load = Load(base_url(coll), auth, batch=50).start()
    deadlocks_before = await deadlocks(isolated)
    try:
        await load.wait_acked(1500)
        second = aggregator(isolated, group, max_records=200)
        await asyncio.to_thread(second.start)  # the load goes on meanwhile

        async def shared() -> bool:  # the group rebalanced: the new process got partitions of its own
            assert second is not None
            return re.search(r"assigned \[\d", second.log_tail(400)) is not None

        await eventually(shared, timeout=60)
        await load.wait_acked(len(load.acked) + 1500)
        first.kill(signal.SIGKILL)
        tally.fault()
        await load.wait_acked(len(load.acked) + 1500)
        await load.finish()
        await reconcile(isolated, load.acked, tally, timeout=180)
        logs = first.log_tail(100_000) + second.log_tail(100_000)
        assert logs.count("deadlock detected") == 0
        assert await deadlocks(isolated) == deadlocks_before
        tally.survived()
    finally:
        if load.task is not None and not load.task.done():
            load.task.cancel()
        first.kill()
        if second is not None:
            second.stop()
        coll.stop()
