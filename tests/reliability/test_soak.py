"""Soak (slow; runs only when DX_SOAK_SECONDS is set, `make reliability` sets 600): steady HTTP load through the three
services for DX_SOAK_SECONDS while one random service is SIGKILLed and restarted every DX_SOAK_KILL_EVERY seconds
(default 60); ends by reconciling every acknowledged event against PostgreSQL."""

import asyncio
import os
import random
import signal
import uuid
from pathlib import Path

import pytest

from shared.settings import Settings
from testing.processes import ServiceProcess, free_port
from tests.reliability.conftest import Tally
from tests.reliability.support import Load, aggregator, base_url, collector, reconcile
from tests.reliability.test_alerter_kill import alertmanager, webhook
from tests.support.db import add_source

SECONDS = float(os.environ.get("DX_SOAK_SECONDS") or 0)
KILL_EVERY = float(os.environ.get("DX_SOAK_KILL_EVERY") or 60)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.e2e,
    pytest.mark.skipif(not SECONDS, reason="set DX_SOAK_SECONDS to run the soak (make reliability does)"),
    pytest.mark.timeout(int(SECONDS) + 900),
]
__all__ = ["alertmanager", "webhook"]  # the private Alertmanager the alerter talks to


def alerter(settings: Settings, am_url: str) -> ServiceProcess:
    port = free_port()
    env = {"DX_ALERTMANAGER_URL": am_url, "DX_ALERTER_METRICS_PORT": str(port), "DX_ALERTER_LEADER_LEASE_SECONDS": "5",
           "DX_ALERTER_EVAL_INTERVAL_SECONDS": "10"}  # fmt: skip
    return ServiceProcess("alerter", settings, f"http://127.0.0.1:{port}/metrics", env)


async def test_soak_with_a_random_kill_every_minute(
    isolated: Settings, alertmanager: str, tally: Tally, tmp_path: Path
) -> None:
    rng = random.Random(os.environ.get("DX_SOAK_SEED", "1"))
    auth = await add_source(isolated, "soak")
    procs = {
        "collector": collector(isolated),
        "aggregator": aggregator(isolated, f"agg-soak-{uuid.uuid4().hex[:8]}"),
        "alerter": alerter(isolated, alertmanager),
    }
    for proc in procs.values():
        proc.start()
    load = Load(base_url(procs["collector"]), auth, batch=20, pause=0.05, seed=rng.randrange(1 << 30)).start()
    loop = asyncio.get_running_loop()
    end = loop.time() + SECONDS
    kills: list[str] = []
    try:
        while loop.time() + KILL_EVERY <= end:
            await asyncio.sleep(KILL_EVERY)  # the soak's schedule, not a wait for a condition
            assert load.task is not None and not load.task.done(), load.task and load.task.exception()
            victim = rng.choice(sorted(procs))
            procs[victim].kill(signal.SIGKILL)
            tally.fault()
            kills.append(victim)
            await asyncio.to_thread(procs[victim].start)  # the load goes on meanwhile
        await asyncio.sleep(max(0.0, end - loop.time()))
        await load.finish()
        for name, proc in procs.items():
            assert proc.proc is not None and proc.proc.poll() is None, f"{name} died:\n{proc.log_tail()}"
        await reconcile(isolated, load.acked, tally, timeout=300)
        tally.survived()
        print(f"soak: {len(load.acked)} events acknowledged, kills {kills}, answers {dict(load.statuses)}")
    finally:
        if load.task is not None and not load.task.done():
            load.task.cancel()
        for proc in procs.values():
            proc.stop()
