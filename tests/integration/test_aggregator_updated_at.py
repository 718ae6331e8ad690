"""current_values.updated_at is when the aggregator wrote the row (shared/contracts/rollups.py), not when its
transaction began: a transaction that adds batches for seconds (a backlog), or that waits for the previous commit
(group commit), writes its values at its commit, and the alerter's reaction is timed from this column
(bench/chain.py)."""

import asyncio
from datetime import UTC, datetime

from services.aggregator import store
from services.aggregator.apply import Transaction
from shared.adapters.postgres import create_pool
from tests.integration.test_aggregator_overlap import event, offsets, staged


async def test_updated_at_is_when_the_row_was_written(db_settings, catalog, hierarchy):
    pool = await create_pool(db_settings, "aggregator", max_size=2)
    try:
        await store.sync_tree(pool, hierarchy)
        sent = event(unit="14758", numerator=3, denominator=10)
        tx = Transaction(pool, catalog, hierarchy)
        await tx.add(staged([sent], 0, catalog, hierarchy))  # the transaction begins here
        await asyncio.sleep(0.5)  # … more batches, or the previous commit, take this long
        before_commit = datetime.now(UTC)
        await tx.commit(offsets(db_settings, 1))
        async with pool.acquire() as conn:
            updated = await conn.fetchval(
                "SELECT updated_at FROM current_values WHERE indicator = $1 AND unit = $2",
                sent["indicator"], sent["unit"],
            )  # fmt: skip
        assert updated >= before_commit  # before, the transaction's start: 0.5 s earlier
    finally:
        await pool.close()
