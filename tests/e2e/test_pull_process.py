"""The pull collector as real processes: a connector file with a typo stops the start naming it; two processes run
each tick once; a process killed mid-run and restarted leaves every record counted exactly once."""

import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from services.pull.settings import PullSettings
from shared.settings import Settings
from testing.fake_source import FakeSource, FakeState, record
from testing.processes import ROOT, ServiceProcess, free_port, settings_env, wait_http
from tests.integration.pull.support import event_ids, http_connector, pull_settings, runs, token_file
from tests.support.env import eventually

DAY = date.today() - timedelta(days=1)
COMMUNES = ("14758", "14797", "14812", "14818", "15853")


def _pull(settings: PullSettings, name: str = "pull") -> ServiceProcess:
    port = free_port()
    mine = settings.model_copy(update={"pull_metrics_port": port, "pull_instance": f"{name}-{port}"})
    return ServiceProcess("pull", mine, f"http://127.0.0.1:{port}/healthz")


def test_a_connector_file_with_a_typo_stops_the_start_naming_file_and_field(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "portal.toml").write_text(
        http_connector("http://127.0.0.1:9", tmp_path / "t", "1m").replace("records =", "recrods ="), encoding="utf-8"
    )
    (tmp_path / "t").write_text("dxs_x_y", encoding="utf-8")
    env = settings_env(settings, {"DX_PULL_CONNECTORS_DIR": str(tmp_path)})
    done = subprocess.run([sys.executable, "-m", "services.pull"], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"{tmp_path / 'portal.toml'}: http.recrods: unknown field" in done.stderr


@pytest.fixture
def collector(isolated: Settings) -> Iterator[str]:
    """A collector that lets a source send 30 events a second in requests of at most 10 (so a run of 60 records
    takes seconds: long enough to kill the pull collector while it sends)."""
    port = free_port()
    env = {"DX_COLLECTOR_INGEST_ENABLED": "false", "DX_COLLECTOR_MAX_EVENTS": "10",
           "DX_COLLECTOR_RATE_EVENTS_PER_S": "30", "DX_COLLECTOR_RATE_BURST": "10"}  # fmt: skip
    process = ServiceProcess("collector", isolated.model_copy(update={"collector_port": port}),
                             f"http://127.0.0.1:{port}/readyz", env)  # fmt: skip
    process.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()


@pytest.fixture
def aggregator(isolated: Settings) -> Iterator[None]:
    port = free_port()
    process = ServiceProcess("aggregator", isolated.model_copy(update={"aggregator_metrics_port": port}),
                             f"http://127.0.0.1:{port}/healthz")  # fmt: skip
    process.start()
    try:
        yield
    finally:
        process.stop()


async def _applied(settings: Settings) -> int:
    conn = await asyncpg.connect(settings.pg_dsn("app"))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM applied_events"))
    finally:
        await conn.close()


async def test_killed_mid_run_and_restarted_every_record_counts_exactly_once(
    isolated: Settings, collector: str, aggregator: None, tmp_path: Path
) -> None:
    records = [record(c, DAY - timedelta(days=d), 100 + d, 400) for d in range(12) for c in COMMUNES]  # 60
    token = await token_file(isolated, tmp_path, "portal-dvc")
    folder = tmp_path / "connectors"
    folder.mkdir()
    with FakeSource(FakeState(records=records, page_size=20)) as source:
        (folder / "portal.toml").write_text(http_connector(source.url, token, "1h", timeout="20s"), encoding="utf-8")
        settings = pull_settings(isolated, collector, pull_connectors_dir=folder, pull_batch=10,
                                 pull_lease_seconds=3.0)  # fmt: skip
        first = _pull(settings, "first").start()
        try:

            async def some_sent() -> bool:
                return 10 <= len(await event_ids(isolated)) < 60

            await eventually(some_sent, timeout=60, interval=0.05)
            first.kill(signal.SIGKILL)  # mid-run: part of the events sent, the run not recorded
        finally:
            first.stop()
        sent_before = len(await event_ids(isolated))
        assert sent_before < 60
        assert [r["outcome"] for r in await runs(isolated, "portal")] == ["running"]
        second = _pull(settings, "second").start()
        try:

            async def finished() -> bool:
                return [r["outcome"] for r in await runs(isolated, "portal")] == ["lost", "ok"]

            await eventually(finished, timeout=90)
        finally:
            second.stop()

    async def all_applied() -> bool:
        return await _applied(isolated) == 60

    await eventually(all_applied, timeout=60)
    ids = await event_ids(isolated)
    assert len(set(ids)) == 60 and len(ids) == sent_before + 60  # the second run re-sent everything: duplicates
    assert await _applied(isolated) == 60


async def test_two_processes_run_each_tick_once(isolated: Settings, tmp_path: Path) -> None:
    records = [record(c, DAY, 100, 400) for c in COMMUNES]
    token = await token_file(isolated, tmp_path, "portal-dvc")
    folder = tmp_path / "connectors"
    folder.mkdir()
    port = free_port()
    env = {"DX_COLLECTOR_INGEST_ENABLED": "false"}
    collector = ServiceProcess("collector", isolated.model_copy(update={"collector_port": port}),
                               f"http://127.0.0.1:{port}/readyz", env).start()  # fmt: skip
    with FakeSource(FakeState(records=records, page_size=10)) as source:
        (folder / "portal.toml").write_text(http_connector(source.url, token, "2s"), encoding="utf-8")
        settings = pull_settings(isolated, f"http://127.0.0.1:{port}", pull_connectors_dir=folder,
                                 pull_poll_seconds=0.1)  # fmt: skip
        pulls = [_pull(settings, "a").launch(), _pull(settings, "b").launch()]
        try:
            for p in pulls:
                p.wait_ready()

            async def five_ticks() -> bool:
                return len({r["tick"] for r in await runs(isolated, "portal") if r["outcome"] == "ok"}) >= 5

            await eventually(five_ticks, timeout=90)
        finally:
            for p in pulls:
                p.stop()
            collector.stop()
        done = await runs(isolated, "portal")
        first_pages = [p for p, _ in source.state.requests if p == "/report?page=1"]
    ticks = [r["tick"] for r in done]
    assert all(r["outcome"] == "ok" for r in done), done
    assert len(ticks) == len(set(ticks))  # no tick ran twice
    assert len(first_pages) == len(done)  # and the source was asked once per tick
    assert {r["holder"] for r in done} <= {p.settings.model_dump()["pull_instance"] for p in pulls}
    assert all(b - a == timedelta(seconds=2) for a, b in zip(sorted(ticks), sorted(ticks)[1:], strict=False))


def test_it_waits_for_an_unreachable_database_and_stops_on_sigterm(settings: Settings, tmp_path: Path) -> None:
    """PostgreSQL down at start-up (a closed port here): it stays up, /healthz says 503, SIGTERM ends it."""
    port = free_port()
    unreachable = settings.model_copy(update={"pg_port": free_port()})
    env = settings_env(unreachable, {"DX_PULL_CONNECTORS_DIR": str(tmp_path), "DX_PULL_METRICS_PORT": str(port)})
    with (tmp_path / "pull.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "services.pull"], env=env, cwd=ROOT, stdout=log,
                                   stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_http(f"http://127.0.0.1:{port}/metrics")
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 503
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0, (tmp_path / "pull.log").read_text()
    assert "PostgreSQL: not connected yet" in (tmp_path / "pull.log").read_text()
