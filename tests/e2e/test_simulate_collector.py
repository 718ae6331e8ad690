"""`dx simulate` as a user runs it, against a real collector process: every event it sends is accepted."""

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
import pytest

from dx.dlq import read_topic
from shared.domain.timeutil import LOCAL_TZ
from shared.settings import Settings
from testing.processes import ROOT, ServiceProcess, free_port, settings_env


@pytest.fixture
def collector(isolated: Settings) -> Iterator[Settings]:
    """A collector process on a free port; yields the settings that reach it."""
    settings = isolated.model_copy(update={"collector_port": free_port()})
    process = ServiceProcess(
        "collector",
        settings,
        f"http://127.0.0.1:{settings.collector_port}/readyz",
        {"DX_COLLECTOR_INGEST_ENABLED": "false"},
    )
    process.start()
    try:
        yield settings
    finally:
        process.stop()


def _simulate(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dx.main", "simulate", *args],
        env={**settings_env(settings), "COLUMNS": "200"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )


async def test_a_short_history_then_live_traffic_is_all_accepted(collector: Settings) -> None:
    start = (datetime.now(UTC).astimezone(LOCAL_TZ) - timedelta(days=4)).date()
    run = _simulate(collector, "--history", start.isoformat(), "--duration", "4", "--rate", "400", "--seed", "9")
    assert run.returncode == 0, run.stdout + run.stderr
    match = re.search(r"sent (\d+), accepted (\d+), rejected (\d+)", run.stdout)
    assert match, run.stdout
    sent, accepted, rejected = map(int, match.groups())
    assert sent > 500 and accepted == sent and rejected == 0
    assert "created source 'simulator' for this run (scoped; revoked when the run ends)" in run.stdout

    records = await read_topic(collector, collector.topic_events)
    events = [orjson.loads(r.value or b"{}") for r in records]
    assert len(events) == accepted
    assert {e["source"] for e in events} == {"simulator"}
    day = datetime.now(UTC).astimezone(LOCAL_TZ).date()
    communes = {e["unit"] for e in events if e["indicator"] == "gov.eid_users" and e["observed_at"][:10] == str(day)}
    assert len(communes) == 166  # live traffic covers every commune in force today

    conn = await asyncpg.connect(collector.pg_dsn("app"))
    try:
        sources = [tuple(r) for r in await conn.fetch("SELECT name, units, revoked_at IS NOT NULL FROM sources")]
    finally:
        await conn.close()
    assert sources == [("simulator", ["38"], True)]  # scoped to the province, revoked when the run ended

    again = _simulate(collector, "--duration", "0.5", "--rate", "200")  # the revoked "simulator" is re-issued
    assert again.returncode == 0, again.stdout + again.stderr
    assert "created source 'simulator' for this run" in again.stdout
