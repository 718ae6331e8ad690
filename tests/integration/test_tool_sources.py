"""The tools' own sources against the real database and a real collector: scoped to what the run sends, leased,
revoked when the run ends (also on an error), refused once the lease of a killed run has run out."""

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dx import tokens
from dx.tokens import run_token
from services.collector.sources import AuthError, PgSources, Sources
from shared.adapters.postgres import create_pool
from shared.settings import Settings
from testing.processes import ROOT, ServiceProcess, free_port, settings_env
from tests.support.db import fetch

CSV = """\
indicator,unit,date,numerator,denominator,value
gov.eid_users,14755,2024-03-01,120,400,
gov.eid_users,14758,2024-03-01,200,500,
overall.dti_rank,38,2023-12-31,,,11
"""


@pytest.fixture
def collector_url(isolated: Settings) -> Iterator[str]:
    port = free_port()
    settings = isolated.model_copy(update={"collector_port": port})
    env = {"DX_COLLECTOR_INGEST_ENABLED": "false", "DX_COLLECTOR_SOURCE_CACHE_TTL_S": "0"}
    process = ServiceProcess("collector", settings, f"http://127.0.0.1:{port}/readyz", env).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()


def dx_import(settings: Settings, path: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dx.main", "import", str(path), "--collector-url", url],
        env={**settings_env(settings), "COLUMNS": "200"}, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


async def sources_rows(settings: Settings) -> list[dict[str, object]]:
    rows = await fetch(settings, "SELECT name, indicators, units, revoked_at, expires_at - created_at AS lease "
                                 "FROM sources ORDER BY name")  # fmt: skip
    return [dict(r) for r in rows]


async def test_dx_import_without_a_token_leaves_no_active_source_behind(
    isolated: Settings, collector_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(CSV, encoding="utf-8")
    run = dx_import(isolated, path, collector_url)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "used source 'importer', created for this import (scoped; now revoked)" in run.stdout
    [row] = await sources_rows(isolated)
    assert row["name"] == "importer" and row["revoked_at"] is not None
    # each unit as in force on its row's date (14758 on 2024-03-01 is Phường Đông Thọ, not today's Hàm Rồng)
    assert (row["indicators"], row["units"]) == (
        ["gov.eid_users", "overall.dti_rank"],
        ["14755@2020-01-01", "14758@2020-01-01", "38@2020-01-01"],
    )
    assert "3 rows: 3 accepted, 0 rejected" in run.stdout


async def test_a_run_token_works_during_the_run_only_and_is_revoked_on_an_error(
    isolated: Settings, collector_url: str
) -> None:
    body = [{"event_id": "4b6f8f1e-5d0e-4c8a-9a43-5d1f0e2c1a77", "indicator": "gov.eid_users", "unit": "14755",
             "observed_at": "2025-05-01T10:00:00+07:00", "numerator": 1, "denominator": 2}]  # fmt: skip
    outside = [{**body[0], "event_id": "5b6f8f1e-5d0e-4c8a-9a43-5d1f0e2c1a77", "unit": "14809"}]
    with pytest.raises(RuntimeError, match="the run failed"):
        async with run_token(isolated, None, "importer", ["gov.eid_users"], ["14755"]) as run:
            assert run.created == "importer"
            async with httpx.AsyncClient(base_url=collector_url, timeout=10) as client:
                auth = {"Authorization": f"Bearer {run.token}"}
                assert (await client.post("/v1/events", json=body, headers=auth)).status_code == 202
                refused = await client.post("/v1/events", json=outside, headers=auth)
                assert refused.status_code == 422 and refused.json()["rejected"][0]["errors"][0].startswith("forbidden")
            raise RuntimeError("the run failed")
    async with httpx.AsyncClient(base_url=collector_url, timeout=10) as client:
        after = await client.post("/v1/events", json=body, headers=auth)
    assert after.status_code == 401 and "revoked" in after.json()["message"]
    [row] = await sources_rows(isolated)
    assert row["revoked_at"] is not None


async def test_the_lease_is_renewed_while_the_run_lasts_and_a_killed_run_expires(
    isolated: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tokens, "RENEW_EVERY_S", 0.2)
    pool = await create_pool(isolated, "app", max_size=2)
    try:
        sources = Sources(PgSources(pool), ttl=0)
        async with run_token(isolated, None, "simulator", ["gov.eid_users"], ["38"]) as run:
            first = (await fetch(isolated, "SELECT expires_at FROM sources"))[0]["expires_at"]

            async def renewed() -> bool:
                return bool((await fetch(isolated, "SELECT expires_at FROM sources"))[0]["expires_at"] > first)

            for _ in range(50):
                if await renewed():
                    break
                await asyncio.sleep(0.1)
            assert await renewed()
            assert (await sources.authenticate(f"Bearer {run.token}")).name == "simulator"
            # as if the tool had been killed ten minutes ago: the lease has run out
            await fetch(isolated, "UPDATE sources SET expires_at = now() - interval '1 second'")
            with pytest.raises(AuthError, match="expired token"):
                await sources.authenticate(f"Bearer {run.token}")
    finally:
        await pool.close()


async def test_an_operator_token_is_used_as_given_and_nothing_is_created(isolated: Settings) -> None:
    async with run_token(isolated, "dxs_given", "importer", ["gov.eid_users"], ["38"]) as run:
        assert (run.token, run.created) == ("dxs_given", None)
    assert await sources_rows(isolated) == []
