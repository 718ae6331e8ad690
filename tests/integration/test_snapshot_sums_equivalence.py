"""The batched snapshot value query (services/aggregator/store.py `snapshot_sums`: the days of a series valued
together from its members' changes) gives exactly the rows of the per-day form (sql.SNAPSHOT_SUMS_PER_DAY), and so
does the routing of each series by its number of days, on random histories across both 2025 hierarchy changes:
reused codes, predecessors carried, own observations superseding them, districts that vanish, values and ratios,
leaves and rollups."""

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.aggregator import store
from shared.adapters.postgres import create_pool
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.domain.rollup import ValueSpec, value_spec
from shared.settings import Settings

FIRST, LAST = date(2024, 10, 1), date(2026, 1, 31)
INDICATORS = ("gov.eid_users", "soc.communes_dx_completed", "soc.districts_dx_completed", "econ.digital_economy_share")


def _days(rng: random.Random, n: int) -> list[date]:
    span = (LAST - FIRST).days
    return sorted({FIRST + timedelta(days=rng.randrange(span + 1)) for _ in range(n)})


async def _seed(
    conn: asyncpg.Connection, catalog: Catalog, hierarchy: Hierarchy, rng: random.Random
) -> list[tuple[Any, ...]]:
    rows = []
    for code in INDICATORS:
        ind = catalog[code]
        codes = sorted({u.code for v in hierarchy.versions for u in v.units.values() if u.level == ind.reported_at})
        for unit in codes:
            if rng.random() < 0.35:
                continue
            for day in _days(rng, rng.randint(1, 6)):
                at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=rng.randint(1, 9))
                if ind.measure.value == "ratio":
                    den = rng.randint(50, 5000)
                    num, den_, value = rng.randint(0, den), den, None
                else:
                    num, den_, value = (
                        None,
                        None,
                        rng.choice((0, 1)) if ind.measure.value == "count" else rng.randint(0, 4000) / 100,
                    )
                rows.append((code, unit, day, at, uuid.uuid4(), num, den_, value))
    await conn.copy_records_to_table(
        "agg_snapshot_days", records=rows,
        columns=["indicator", "unit", "day", "observed_at", "event_id", "numerator", "denominator", "value"],
    )  # fmt: skip
    return rows


def _specs(
    catalog: Catalog, hierarchy: Hierarchy, rng: random.Random, seeded: list[tuple[Any, ...]]
) -> list[ValueSpec]:
    specs: dict[tuple[str, str, date], ValueSpec] = {}
    for code, unit, day, *_ in rng.sample(seeded, 300):  # reporting units on a day of their own observation
        spec = value_spec(hierarchy, catalog[code], unit, day)
        if spec is not None:
            specs[(code, unit, day)] = spec
    days = [*_days(rng, 45), date(2025, 1, 1), date(2025, 6, 30), date(2025, 7, 1), LAST]
    for code in INDICATORS:
        ind = catalog[code]
        for day in days:
            units = hierarchy.units_in_force(day)
            leaves = [u.code for u in units if u.level == ind.reported_at]
            wanted = {u.code for u in units if u.level in ("province", "district")} | set(
                rng.sample(leaves, min(25, len(leaves)))
            )
            for unit in wanted:
                spec = value_spec(hierarchy, ind, unit, day)
                if spec is not None:
                    specs[(code, unit, day)] = spec
    return list(specs.values())


def _rows(records: list[asyncpg.Record]) -> list[tuple[Any, ...]]:
    keys = ("indicator", "unit", "day", "num", "den", "val", "children", "own", "carried", "last")
    return sorted(tuple(r[k] for k in keys) for r in records)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_the_batched_snapshot_sums_equal_the_per_day_ones(
    db_settings: Settings, catalog: Catalog, hierarchy: Hierarchy, seed: int
) -> None:
    rng = random.Random(seed)
    pool = await create_pool(db_settings, "owner")
    try:
        await store.sync_tree(pool, hierarchy)
        async with pool.acquire() as conn:
            seeded = await _seed(conn, catalog, hierarchy, rng)
            specs = _specs(catalog, hierarchy, rng, seeded)
            batched = _rows(await store.snapshot_sums(conn, specs, batched=True))
            per_day = _rows(await store.snapshot_sums(conn, specs, batched=False))
            routed = _rows(await store.snapshot_sums(conn, specs))  # own days looked up, each series by its days
            own_days = await store.own_snapshot_days(conn, [s for s in specs if s.is_leaf])
            one = specs[:: max(1, len(specs) // 40)]  # and one spec at a time: a series of a single day
            singles = [r for s in one for r in _rows(await store.snapshot_sums(conn, [s], batched=True))]
    finally:
        await pool.close()
    assert len(seeded) > 1000 and len(specs) > 1000
    assert len(own_days) > 200, "the lookup of own days is compared too"
    assert len(per_day) > len(specs) // 2, "most specs have a value: the comparison is not of empty sets"
    assert any(r[8] for r in per_day) and any(r[7] < r[6] for r in per_day), "carried values are compared too"
    assert batched == per_day
    assert routed == per_day
    wanted = {(s.indicator, s.unit, s.day) for s in one}
    assert sorted(singles) == [r for r in per_day if r[:3] in wanted]
