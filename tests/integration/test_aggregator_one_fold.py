"""A transaction's events and its corrections and retractions are folded together, against the real database: the
values on their chains are read and written once per commit (before, the amendments' chains were folded a second
time after the events', the province's values included), and they are those of the events in force."""

import uuid
from typing import Any

from services.aggregator import store
from services.aggregator.apply import apply_batch
from shared.adapters.postgres import create_pool
from tests.integration.test_aggregator_overlap import event, offsets, staged

PROVINCE = "38"


async def test_events_and_amendments_of_a_transaction_are_folded_once(db_settings, catalog, hierarchy, monkeypatch):
    original = event(unit="14758", numerator=3, denominator=10)
    pool = await create_pool(db_settings, "aggregator", max_size=2)
    try:
        await store.sync_tree(pool, hierarchy)
        await apply_batch(pool, catalog, hierarchy, staged([original], 0, catalog, hierarchy), offsets(db_settings, 1))
        fresh = event(unit="14812", numerator=4, denominator=5)
        retraction = {k: original[k] for k in ("indicator", "unit", "source", "observed_at", "received_at")}
        retraction |= {"event_id": str(uuid.uuid4()), "retracts": original["event_id"]}
        folds: list[int] = []
        compute = store.compute

        async def counted(conn: Any, specs: Any, catalog: Any) -> Any:
            folds.append(len(specs))
            return await compute(conn, specs, catalog)

        monkeypatch.setattr(store, "compute", counted)
        batch = staged([fresh, retraction], 1, catalog, hierarchy)
        result = await apply_batch(pool, catalog, hierarchy, batch, offsets(db_settings, 3))
        assert len(folds) == 1, folds  # one fold for the fresh event's chain and the retracted one's
        assert result.applied == 2
        async with pool.acquire() as conn:
            province = await conn.fetchrow(
                "SELECT numerator, denominator FROM current_values WHERE indicator = $1 AND unit = $2",
                original["indicator"], PROVINCE,
            )  # fmt: skip
            emptied = await conn.fetchrow(
                "SELECT value, numerator FROM current_values WHERE indicator = $1 AND unit = $2",
                original["indicator"], original["unit"],
            )  # fmt: skip
        assert (province["numerator"], province["denominator"]) == (4, 5)  # the retracted 3/10 left it
        assert emptied["value"] is None and emptied["numerator"] == 0  # what the retraction emptied says so
    finally:
        await pool.close()
