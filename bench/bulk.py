"""The bulk path for years of history: the messages the collector would write to dx.events.v1, applied in
observation-day order by the aggregator's own code (services/aggregator/apply.py) in-process, in batches of the
service's size, without Kafka in between. Same decode, same SQL, same tables as the pipeline
(tests/integration/test_history_bulk_path.py proves it on a sample); what it saves is the out-of-order arrival of
six partitions, which makes the service recompute every later daily row of a series each time an older day arrives.
"""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson

from dx import prune
from services.aggregator import store
from services.aggregator.apply import apply_batch, refresh_increments, stage
from services.aggregator.decode import Decoder
from services.aggregator.fold import Planner
from services.aggregator.prepare import Part, prepare
from shared.adapters.postgres import create_pool
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.domain.timeutil import local_date
from shared.settings import Settings

BATCH = 10_000  # the aggregator's default aggregator_max_records
GROUP = "bench-bulk"  # the offsets row the batches write (nothing consumes it)


async def bulk_apply(
    settings: Settings,
    catalog: Catalog,
    hierarchy: Hierarchy,
    messages: Sequence[tuple[bytes, bytes]],
    batch: int = BATCH,
    on_batch: Callable[[int], None] | None = None,
    prune_horizon: timedelta | None = None,
) -> tuple[int, int]:
    """Apply `messages` (key, dx.events.v1 value), in the order given, then bring the increment values' daily rows up
    to today as the service's periodic refresh does (until nothing is left to write). With `prune_horizon`, the
    months received longer than that before each batch's last event are pruned after it (`dx events prune`, as
    an operator running it monthly through those years would have); returns the events and bytes pruned."""
    pruned, pruned_bytes = 0, 0
    decoder, planner = Decoder(catalog, hierarchy), Planner(catalog, hierarchy)
    pool = await create_pool(settings, "app", max_size=2)
    try:
        await store.sync_tree(pool, hierarchy)
        for start in range(0, len(messages), batch):
            values: list[bytes | None] = [v for _, v in messages[start : start + batch]]
            part = Part(0, list(range(start, start + len(values))), values)
            now = datetime.now(UTC)
            prepared = prepare(decoder, [part])
            if prepared.poison:
                raise ValueError(f"bulk history holds invalid events: {prepared.poison[:3]}")
            staged = stage(prepared, now, planner, local_date(now))
            offsets = store.Offsets(GROUP, settings.topic_events, {0: start + len(values)})
            await apply_batch(pool, catalog, hierarchy, staged, offsets)
            if prune_horizon is not None:
                clock = datetime.fromisoformat(orjson.loads(values[-1] or b"{}")["received_at"])
                for month, partition in await prune.candidates(settings, clock, prune_horizon):
                    done = await prune.prune_month(settings, month, partition, keep=False)
                    pruned, pruned_bytes = pruned + done.events, pruned_bytes + done.bytes
            if on_batch is not None:
                on_batch(len(values))
        await settle_increments(pool, catalog, hierarchy)
    finally:
        await pool.close()
    return pruned, pruned_bytes


async def settle_increments(pool: asyncpg.Pool, catalog: Catalog, hierarchy: Hierarchy) -> int:
    """Run the aggregator's increment refresh until a run writes nothing more (each run writes at most a bounded
    number of daily rows, as in the service); returns the runs. Not "until no change day is left": the refresh
    lists days on which a unit is no longer in force (a district after 2025-07-01) and never writes them."""
    runs, rows = 0, await _daily_rows(pool)
    while True:
        changed = await refresh_increments(pool, catalog, hierarchy, local_date(datetime.now(UTC)))
        runs += 1
        now_rows = await _daily_rows(pool)
        if not changed and now_rows == rows:
            return runs
        rows = now_rows


async def _daily_rows(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        return int(await conn.fetchval("SELECT count(*) FROM daily_values"))
