"""`dx connectors list|run|test` with the shipped example connectors, against the demo's fake source run as its
own process (`python -m testing.fake_source`), a real collector, Kafka and PostgreSQL."""

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.settings import Settings
from testing.processes import ROOT, free_port, settings_env, wait_http
from tests.integration.pull.support import collector_process, event_ids, token_file

EXAMPLES = ROOT / "deploy" / "connectors" / "examples"


@pytest.fixture
def fake_source() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "testing.fake_source", "--port", str(port)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_http(f"http://127.0.0.1:{port}/report")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def _dx(settings: Settings, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dx.main", "connectors", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**settings_env(settings), "COLUMNS": "250", **env})  # fmt: skip


async def test_the_shipped_portal_example_tests_runs_and_lists(
    isolated: Settings, fake_source: str, tmp_path: Path
) -> None:
    folder = tmp_path / "connectors"
    folder.mkdir()
    text = (EXAMPLES / "portal-dvc.toml").read_text(encoding="utf-8")
    assert "http://127.0.0.1:9110/report" in text
    (folder / "portal-dvc.toml").write_text(text.replace("http://127.0.0.1:9110", fake_source), encoding="utf-8")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(ROOT / "samples" / "so-tai-chinh-demo.csv", inbox)
    long_ago = time.time() - 3600  # settled: not a file still being copied in
    os.utime(inbox / "so-tai-chinh-demo.csv", (long_ago, long_ago))
    files = (EXAMPLES / "so-tai-chinh.toml").read_text(encoding="utf-8")
    (folder / "so-tai-chinh.toml").write_text(files.replace("../../../.run/inbox/so-tai-chinh", str(inbox)))
    token = (await token_file(isolated, tmp_path, "portal-dvc")).read_text().strip()
    finance = (await token_file(isolated, tmp_path, "so-tai-chinh")).read_text().strip()
    with collector_process(isolated) as url:
        env = {"DX_PULL_TOKEN_PORTAL_DVC": token, "DX_PULL_TOKEN_SO_TAI_CHINH": finance, "DX_PULL_COLLECTOR_URL": url}
        dry = _dx(isolated, env, "--dir", str(folder), "test", "portal-dvc", "--limit", "0")
        assert dry.returncode == 0, dry.stdout + dry.stderr
        assert "fetched 42, would send 42, rejected 0" in dry.stdout and "gov.level4_procedures_online" in dry.stdout
        assert await event_ids(isolated) == []  # a dry run sends nothing

        run = _dx(isolated, env, "--dir", str(folder), "run", "portal-dvc")
        assert run.returncode == 0, run.stdout + run.stderr
        assert "portal-dvc: ok: fetched 42, accepted 42, rejected 0" in run.stdout
        assert len(set(await event_ids(isolated))) == 42
        after = _dx(isolated, env, "--dir", str(folder), "test", "portal-dvc")  # from the stored ETag: unchanged
        assert after.returncode == 0 and "fetched 0, would send 0, rejected 0" in after.stdout, after.stdout

        listing = _dx(isolated, env, "--dir", str(folder), "list")
        assert listing.returncode == 0, listing.stdout + listing.stderr
        lines = {line.split("│")[1].strip(): line for line in listing.stdout.splitlines() if line.count("│") > 3}
        assert "every 1m" in lines["portal-dvc"] and "never" not in lines["portal-dvc"]
        assert "never" in lines["so-tai-chinh"] and "files" in lines["so-tai-chinh"]

        folder_run = _dx(isolated, env, "--dir", str(folder), "run", "so-tai-chinh")
        assert folder_run.returncode == 0, folder_run.stdout + folder_run.stderr
        assert "so-tai-chinh: ok: fetched 4, accepted 3, rejected 1" in folder_run.stdout
        assert "unit_not_in_force" in folder_run.stdout
        report = (inbox / "done" / "so-tai-chinh-demo.csv.errors.csv").read_text(encoding="utf-8")
        assert report.startswith("row,field,reason") and "5,unit,unit_not_in_force: " in report

        unknown = _dx(isolated, env, "--dir", str(folder), "run", "no-such")
        assert unknown.returncode == 2 and "no connector 'no-such'" in unknown.stdout
        typo = folder / "broken.toml"
        typo.write_text(text.replace("records =", "record ="), encoding="utf-8")
        refused = _dx(isolated, env, "--dir", str(folder), "list")
        assert refused.returncode == 2 and f"{typo}: http.record: unknown field" in refused.stdout
