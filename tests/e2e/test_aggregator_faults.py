"""Real aggregator processes: SIGKILL in the middle of a batch, then restart; two processes in one group.
Either way the totals equal exactly what was sent."""

import asyncio
import os
import random
import re
import signal
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from shared.domain.timeutil import local_date
from testing.processes import ServiceProcess, free_port
from tests.integration.test_aggregator_harness import (
    LEVEL4,
    SATISFACTION,
    applied_count,
    current,
    event,
    fetch,
    send,
)
from tests.support.env import eventually

COMMUNES = ["14758", "14797", "14812", "14818", "15853"]


def workload(n: int, seed: int) -> tuple[list[dict[str, Any]], dict[str, tuple[int, int]]]:
    """n distinct events for current-version communes and the province totals they must produce."""
    rng = random.Random(seed)
    today = local_date(datetime.now(UTC))
    events: list[dict[str, Any]] = []
    latest: dict[str, tuple[datetime, int, int]] = {}
    window = [0, 0]
    for i in range(n):
        unit = COMMUNES[i % len(COMMUNES)]
        day = today - timedelta(days=rng.randrange(1, 300))
        at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC) + timedelta(seconds=i)
        den = rng.randrange(1, 1000)
        num = rng.randrange(0, den + 1)
        indicator = LEVEL4 if i % 2 else SATISFACTION
        events.append(
            event(indicator, unit, at.isoformat(), num, den, event_id=str(uuid.UUID(int=rng.getrandbits(128))))
        )
        if indicator == LEVEL4:
            if unit not in latest or at > latest[unit][0]:
                latest[unit] = (at, num, den)
        else:
            window[0] += num
            window[1] += den
    snapshot = (sum(v[1] for v in latest.values()), sum(v[2] for v in latest.values()))
    return events, {LEVEL4: snapshot, SATISFACTION: (window[0], window[1])}


def aggregator(settings, group: str) -> ServiceProcess:
    port = free_port()
    extra = {"DX_AGGREGATOR_METRICS_PORT": str(port), "DX_AGGREGATOR_MAX_RECORDS": "500", "DX_AGGREGATOR_GROUP": group}
    return ServiceProcess("aggregator", settings, f"http://127.0.0.1:{port}/healthz", extra)


async def assert_totals(settings, expected: dict[str, tuple[int, int]]) -> None:
    for indicator, (num, den) in expected.items():
        row = await current(settings, indicator, "38")
        assert (row["numerator"], row["denominator"]) == (num, den), indicator
        assert row["value"] == Decimal(100) * num / den


async def _in_transaction(settings) -> bool:
    rows = await fetch(
        settings,
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND state = 'active'"
        " AND query LIKE '%INSERT INTO applied_events%' AND pid <> pg_backend_pid()",
        settings.pg_database,
        role="aggregator",  # a role sees the statements of its own sessions only
    )
    return bool(rows[0]["n"] > 0)


async def test_sigkill_in_the_middle_of_a_batch_then_restart_gives_exact_totals(isolated):
    events, expected = workload(6000, seed=1)
    # Each batch's transaction pauses after inserting its events, so the kill lands inside one.
    await fetch(isolated, "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS "
                          "$$ BEGIN PERFORM pg_sleep(0.3); RETURN NULL; END $$")  # fmt: skip
    await fetch(isolated, "CREATE TRIGGER slow AFTER INSERT ON applied_events EXECUTE FUNCTION slow()")
    group = f"aggregator-kill-{uuid.uuid4().hex[:8]}"
    first = aggregator(isolated, group).start()
    try:
        await send(isolated, events + events[:500])  # and some redeliveries
        await eventually(lambda: _some_applied(isolated))
        await eventually(lambda: _in_transaction(isolated))
        first.kill(signal.SIGKILL)
        assert 0 < await applied_count(isolated) < len(events)
    finally:
        first.kill()
    await fetch(isolated, "DROP TRIGGER slow ON applied_events")
    second = aggregator(isolated, group).start()
    try:
        await eventually(lambda: _all(isolated, len(events)), timeout=120)
    finally:
        second.stop()
    await assert_totals(isolated, expected)


async def test_two_processes_in_one_group_give_exact_totals(isolated):
    events, expected = workload(8000, seed=2)
    group = f"aggregator-two-{uuid.uuid4().hex[:8]}"
    one, two = aggregator(isolated, group).start(), aggregator(isolated, group).start()
    try:
        await send(isolated, events[:4000] + events[:1000])
        await send(isolated, events[4000:] + events[3000:5000])
        await eventually(lambda: _all(isolated, len(events)), timeout=120)
    finally:
        one.stop()
        two.stop()
    await assert_totals(isolated, expected)
    for proc in (one, two):
        assert re.search(r"assigned \[\d", proc.log_tail(400)), "each process owned partitions at some point"
        assert proc.proc is not None and proc.proc.returncode == 0, proc.log_tail()  # SIGTERM: a clean stop


def decode_worker(proc: ServiceProcess) -> int | None:
    """The PID of the aggregator's decode worker (its child running multiprocessing's spawn_main), if any."""
    for pid in proc.children():
        if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
    return None


async def test_a_killed_decode_worker_is_replaced_and_its_batch_still_applied(isolated):
    events, expected = workload(3000, seed=3)
    agg = aggregator(isolated, f"aggregator-worker-{uuid.uuid4().hex[:8]}").start()
    try:
        worker = decode_worker(agg)
        assert worker is not None
        os.kill(worker, signal.SIGSTOP)
        await send(isolated, events[:1500])
        await asyncio.sleep(1.5)
        assert await applied_count(isolated) == 0  # the first batch waits on the stopped worker
        os.kill(worker, signal.SIGKILL)  # … which dies holding it
        await eventually(lambda: _all(isolated, 1500), timeout=60)
        await send(isolated, events[1500:])
        await eventually(lambda: _all(isolated, len(events)), timeout=60)
        replacement = decode_worker(agg)
        assert replacement is not None and replacement != worker  # later batches went to a new worker
        assert "decode worker died" in agg.log_tail(400)
    finally:
        agg.stop()
    await assert_totals(isolated, expected)


async def test_a_killed_aggregator_leaves_no_decode_worker_behind(isolated):
    agg = aggregator(isolated, f"aggregator-orphan-{uuid.uuid4().hex[:8]}").start()
    children = agg.children()
    assert decode_worker(agg) in children
    agg.kill(signal.SIGKILL)
    await eventually(lambda: _all_gone(children), timeout=10)


async def _all_gone(pids: list[int]) -> bool:
    return await asyncio.to_thread(lambda: not any(Path(f"/proc/{pid}").exists() for pid in pids))


async def _some_applied(settings) -> bool:
    return await applied_count(settings) > 0


async def _all(settings, n: int) -> bool:
    return await applied_count(settings) == n
