"""`dx import` against a real collector and aggregator: per-row errors from both sides, and a second import of the
same file changes nothing downstream."""

import csv
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
import httpx
import orjson
import pytest

from dx.dlq import read_topic
from dx.sources import SourceAdmin
from shared import names
from shared.adapters.postgres import create_pool
from shared.settings import Settings
from testing.processes import ROOT, ServiceProcess, free_port, settings_env
from tests.integration.test_cli_listings import dx
from tests.support.env import eventually

CSV = """\
indicator,unit,date,numerator,denominator,value
gov.eid_users,14755,2024-03-01,120,400,
gov.eid_users,14758,2024-03-01,200,500,
overall.dti_rank,38,2023-12-31,,,11
gov.eid_users,380,2024-03-01,1,2,
gov.level4_procedures_online,14755,2024-03-01,50,100,
gov.eid_users,14755,2024-04-01,130,400,
"""


@pytest.fixture
def services(isolated: Settings) -> Iterator[tuple[str, str]]:
    """A collector and an aggregator process on free ports; yields (collector URL, aggregator metrics URL)."""
    collector_port, aggregator_port = free_port(), free_port()
    settings = isolated.model_copy(
        update={"collector_port": collector_port, "aggregator_metrics_port": aggregator_port}
    )
    env = {"DX_COLLECTOR_INGEST_ENABLED": "false"}
    collector = ServiceProcess("collector", settings, f"http://127.0.0.1:{collector_port}/readyz", env)
    aggregator = ServiceProcess("aggregator", settings, f"http://127.0.0.1:{aggregator_port}/healthz")
    try:
        collector.start()
        aggregator.start()
        yield f"http://127.0.0.1:{collector_port}", f"http://127.0.0.1:{aggregator_port}/metrics"
    finally:
        aggregator.stop()
        collector.stop()


async def _token(settings: Settings) -> str:
    """A source allowed to write gov.eid_users and the DTI rank only: the level-4 row is the API's to refuse."""
    pool = await create_pool(settings, "app", max_size=1)
    try:
        return await SourceAdmin(pool).add("backfill", ["gov.eid_users", "overall.dti_rank"], None)
    finally:
        await pool.close()


def _import(settings: Settings, url: str, token: str, path: Path, errors: Path) -> subprocess.CompletedProcess[str]:
    command = ["import", str(path), "--token", token, "--collector-url", url, "--errors", str(errors), "--batch", "2"]
    return subprocess.run(
        [sys.executable, "-m", "dx.main", *command],
        env={**settings_env(settings), "COLUMNS": "200"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def _metric(url: str, name: str) -> float:
    async with httpx.AsyncClient() as client:
        text = (await client.get(url)).text
    values = [float(line.split()[-1]) for line in text.splitlines() if line.startswith(f"{name} ")]
    return values[0] if values else 0.0


async def test_a_second_import_of_the_same_file_changes_nothing(
    isolated: Settings, services: tuple[str, str], tmp_path: Path
) -> None:
    collector_url, metrics_url = services
    path, errors = tmp_path / "backfill.csv", tmp_path / "errors.csv"
    path.write_text(CSV, encoding="utf-8")
    token = await _token(isolated)

    first = _import(isolated, collector_url, token, path, errors)
    assert first.returncode == 1, first.stdout + first.stderr  # some rows were rejected
    assert "6 rows: 4 accepted, 2 rejected" in first.stdout
    report = list(csv.reader(errors.read_text(encoding="utf-8").splitlines()))
    assert report[0] == ["row", "field", "reason"]
    assert [line[:2] for line in report[1:]] == [["5", "unit"], ["6", "indicator"]]
    assert report[1][2].startswith("wrong_level: ")  # found locally
    assert report[2][2].startswith("forbidden: ")  # refused by the collector, mapped back to its row

    conn = await asyncpg.connect(isolated.pg_dsn("app"))
    try:

        async def applied() -> int:
            count: int = await conn.fetchval("SELECT count(*) FROM applied_events")
            return count

        await eventually(lambda: _equals(applied, 4), timeout=60)
        value_before = await conn.fetchval(
            "SELECT value FROM current_values WHERE indicator = 'gov.eid_users' AND unit = '14755'"
        )

        second = _import(isolated, collector_url, token, path, errors)
        assert "6 rows: 4 accepted, 2 rejected" in second.stdout, second.stdout + second.stderr
        duplicates = names.M_EVENTS_DUPLICATE + "_total"
        await eventually(lambda: _at_least(_metric(metrics_url, duplicates), 4), timeout=60)
        assert await applied() == 4
        assert value_before == await conn.fetchval(
            "SELECT value FROM current_values WHERE indicator = 'gov.eid_users' AND unit = '14755'"
        )
    finally:
        await conn.close()

    records = await read_topic(isolated, isolated.topic_events)
    ids = [orjson.loads(r.value or b"{}")["event_id"] for r in records]
    assert len(ids) == 8 and len(set(ids)) == 4  # the same four events, twice


async def test_a_row_changed_since_the_last_import_is_sent_as_a_correction_once(
    isolated: Settings, services: tuple[str, str], tmp_path: Path
) -> None:
    collector_url, _ = services
    path, errors = tmp_path / "backfill.csv", tmp_path / "errors.csv"
    path.write_text(CSV, encoding="utf-8")
    token = await _token(isolated)
    _import(isolated, collector_url, token, path, errors)
    conn = await asyncpg.connect(isolated.pg_dsn("app"))
    try:

        async def applied() -> int:
            count: int = await conn.fetchval("SELECT count(*) FROM applied_events")
            return count

        async def value() -> object:
            return await conn.fetchval(
                "SELECT value FROM current_values WHERE indicator = 'gov.eid_users' AND unit = '14755'"
            )

        await eventually(lambda: _equals(applied, 4), timeout=60)
        assert await value() == 130 * 100 / 400  # its latest observation, 2024-04-01
        path.write_text(CSV.replace("2024-04-01,130,400", "2024-04-01,140,400"), encoding="utf-8")
        second = _import(isolated, collector_url, token, path, errors)
        assert "1 changed rows sent as corrections" in second.stdout, second.stdout + second.stderr
        await eventually(lambda: _equals(applied, 5), timeout=60)
        assert await value() == 140 * 100 / 400  # corrected, not a second observation
        third = _import(isolated, collector_url, token, path, errors)  # the changed file again: nothing more
        assert "0 changed rows sent as corrections" in third.stdout, third.stdout + third.stderr
        assert await applied() == 5
        ids = await conn.fetch("SELECT event_id::text, source FROM applied_events WHERE corrects IS NOT NULL")
        assert len(ids) == 1 and ids[0]["source"] == "backfill"
    finally:
        await conn.close()


async def _equals(check: Callable[[], Awaitable[int]], expected: int) -> bool:
    return await check() == expected


async def _at_least(value: Awaitable[float], minimum: float) -> bool:
    return await value >= minimum


async def test_an_import_after_months_were_pruned_says_which_rows_may_count_again(
    isolated: Settings, services: tuple[str, str], tmp_path: Path
) -> None:
    """Beyond the replay horizon an event's id is forgotten (docs/storage.md): `dx import` cannot tell a row an
    import sent before the pruned months from a new one, and says how many rows it sent as new."""
    collector_url, _ = services
    owner = await asyncpg.connect(isolated.pg_dsn("owner"))
    try:  # a month of events received long ago, then pruned
        await owner.execute("SELECT dx_event_partition('2026-01-01')")
    finally:
        await owner.close()
    code, out, err = await dx(isolated, "events", "prune")
    assert code == 0 and "pruned 2026-01: 0 events" in out, out + err
    path, errors = tmp_path / "backfill.csv", tmp_path / "errors.csv"
    path.write_text(CSV, encoding="utf-8")
    first = _import(isolated, collector_url, await _token(isolated), path, errors)
    # the five rows valid here (the sixth is refused locally), the collector's refusal of one included
    assert "note: 5 rows were sent as new events; events received before 2026-02-01 are no longer kept" in " ".join(
        first.stdout.split()
    ), first.stdout + first.stderr
