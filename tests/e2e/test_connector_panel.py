"""The Operations dashboard's connector panels answer on a real Prometheus scraping a real pull collector.

The shared Prometheus scrapes the default ports only, so this test runs its own Prometheus process on a free port
(a private data folder, a 1 s scrape of the pull collector it starts); nothing of the shared stack is touched.
"""

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.dashboards.build import build_all
from services.pull.settings import PullSettings
from shared.settings import Settings
from testing.dashboards import queries
from testing.processes import ServiceProcess, free_port, wait_http
from tests.integration.pull.support import collector_process, files_connector, pull_settings, token_file
from tests.support.env import eventually

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """(base URL, the port it expects the pull collector's metrics on)."""
    port, target = free_port(), free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"scrape_configs:\n  - job_name: pull\n    static_configs: [{{targets: ['127.0.0.1:{target}']}}]\n",
        encoding="utf-8",
    )
    command = [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
               f"--web.listen-address=127.0.0.1:{port}"]  # fmt: skip
    with (tmp_path / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/-/ready")
        yield f"http://127.0.0.1:{port}", target
    finally:
        process.terminate()
        process.wait(timeout=30)


def _connector_queries() -> list[str]:
    board = build_all()["dx-operations.json"]
    return sorted({q.text for q in queries(board) if q.kind == "promql" and "dx_connector_" in q.text})


async def test_every_connector_panel_query_returns_the_running_connector(
    isolated: Settings, prometheus: tuple[str, int], tmp_path: Path
) -> None:
    base, metrics_port = prometheus
    texts = _connector_queries()
    assert len(texts) == 6, texts
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    token = await token_file(isolated, tmp_path, "so-tai-chinh")
    folder = tmp_path / "connectors"
    folder.mkdir()
    text = files_connector(token, inbox).replace('every = "1h"', 'every = "2s"')
    (folder / "finance.toml").write_text(text, encoding="utf-8")
    with collector_process(isolated) as url:
        settings: PullSettings = pull_settings(
            isolated, url, pull_connectors_dir=folder, pull_metrics_port=metrics_port, pull_poll_seconds=0.2
        )
        pull = ServiceProcess("pull", settings, f"http://127.0.0.1:{metrics_port}/healthz").start()
        try:
            pending = set(texts)
            async with httpx.AsyncClient(timeout=10) as client:

                async def answered() -> bool:
                    for text in sorted(pending):
                        body = (await client.get(f"{base}/api/v1/query", params={"query": text})).json()
                        assert body["status"] == "success", (text, body)
                        result = body["data"]["result"]
                        if result and {r["metric"].get("connector") for r in result} == {"finance"}:
                            pending.discard(text)
                    assert not pending, f"no series yet: {sorted(pending)}"
                    return True

                await eventually(answered, timeout=90, interval=1.0)
                since = "time() - max by (connector) (dx_connector_last_success_timestamp_seconds)"
                body = (await client.get(f"{base}/api/v1/query", params={"query": since})).json()
                assert float(body["data"]["result"][0]["value"][1]) < 120  # it succeeded: not "never" (1970)
        finally:
            pull.stop()
