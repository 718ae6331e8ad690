"""Alertmanager with the project's config (deploy/alertmanager/alertmanager.yml, started by
deploy/local/alertmanager.sh on free loopback ports with a private run dir) delivers what the alerter posts to the
on-call receiver (services/oncall, a real process): as a webhook notification and as an e-mail through its SMTP
inbox (aiosmtpd), Vietnamese intact."""

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.alerter.alertmanager import Alertmanager
from services.alerter.rules import Describe, TargetRow, Tracked, alerts_for
from shared.domain.status import Status
from shared.settings import Settings
from testing.processes import ROOT, ServiceProcess, free_port
from tests.support.env import eventually

pytestmark = pytest.mark.e2e
SCRIPT = ROOT / "deploy" / "local" / "alertmanager.sh"
UNIT_NAME = "Xã Đông Tiến, huyện Triệu Sơn"
DESCRIBE = Describe(
    "Tỷ lệ hồ sơ trực tuyến toàn trình", "gov", "%", UNIT_NAME, 30,
    "http://127.0.0.1:3000/d/dx-units?var-indicator=gov.x&var-unit=38.394.16231", "http://127.0.0.1:9099/runbook",
)  # fmt: skip


class Oncall:
    def __init__(self, port: int, smtp_port: int) -> None:
        self.port, self.smtp_port = port, smtp_port

    async def notifications(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await get(f"http://127.0.0.1:{self.port}/api/notifications")).json()[
            "notifications"
        ]
        return items


async def get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(url)
    response.raise_for_status()
    return response


@pytest.fixture
def oncall(tmp_path: Path) -> Iterator[Oncall]:
    port, smtp_port = free_port(), free_port()
    env = {"DX_ONCALL_PORT": str(port), "DX_ONCALL_SMTP_PORT": str(smtp_port)}
    env["DX_ONCALL_STORE_PATH"] = str(tmp_path / "notifications.jsonl")
    proc = ServiceProcess("oncall", Settings(), f"http://127.0.0.1:{port}/healthz", env).start()
    try:
        yield Oncall(port, smtp_port)
    finally:
        proc.stop()


@contextmanager
def alertmanager(tmp_path: Path, oncall: Oncall, office_hours: str = "") -> Iterator[str]:
    port = free_port()
    env = os.environ | {
        "DX_RUN_DIR": str(tmp_path / "run"),
        "DX_ALERTMANAGER_PORT": str(port),
        "DX_ONCALL_PORT": str(oncall.port),
        "DX_ONCALL_SMTP_PORT": str(oncall.smtp_port),
        "DX_ALERTMANAGER_OFFICE_HOURS": office_hours,
    }
    subprocess.run([str(SCRIPT), "start"], env=env, check=True, capture_output=True, timeout=90)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        subprocess.run([str(SCRIPT), "stop"], env=env, check=False, capture_output=True, timeout=60)


def tracked(status: Status, unit: str = "38.394.16231") -> Tracked:
    now = datetime.now(UTC)
    row = TargetRow("gov.x", unit, "2025", 40.0, 47.5, 50.0, 44.0, status, "Hiện 40%, kế hoạch 47,5%")
    (a,) = alerts_for(row, DESCRIBE)
    return Tracked(a.fingerprint, a.alertname, a.indicator, a.unit, a.milestone, a.labels, a.annotations,
                   "firing", now, now, now + timedelta(minutes=5), now)  # fmt: skip


async def test_an_alerters_alert_reaches_the_on_call_inbox_and_page_with_its_vietnamese_intact(
    tmp_path: Path, oncall: Oncall
) -> None:
    alert = tracked(Status.BEHIND)
    summary = alert.annotations["summary"]
    assert "Xã Đông Tiến" in summary  # the alerter puts the unit's name in the summary
    with alertmanager(tmp_path, oncall) as url:
        sink = Alertmanager(url)
        try:
            await sink.send([alert])
        finally:
            await sink.close()

        async def delivered() -> dict[str, dict[str, Any]]:
            got = {n["channel"]: n for n in await oncall.notifications()}
            return got if {"email", "webhook"} <= set(got) else {}

        got = await eventually(delivered, timeout=60, interval=0.5)

    mail = got["email"]
    assert mail["title"] == f"[dxmon] Cảnh báo (firing): {summary}"
    assert mail["body"].splitlines() == [
        summary,
        alert.annotations["description"],
        f"Địa bàn (unit): {UNIT_NAME}",
        f"Bảng theo dõi (dashboard): {DESCRIBE.link}",
        "Hướng dẫn xử lý (runbook): http://127.0.0.1:9099/runbook#dxtargetbehind",
    ]
    hook = got["webhook"]
    assert hook["status"] == "firing" and hook["title"] == summary
    (sent,) = hook["alerts"]
    assert sent["labels"] == alert.labels and sent["annotations"]["unit_name"] == UNIT_NAME
    page = (await get(f"http://127.0.0.1:{oncall.port}/")).text
    assert summary in page  # HTML-escaping leaves Vietnamese letters as they are
    stored = (tmp_path / "notifications.jsonl").read_text(encoding="utf-8")
    assert UNIT_NAME in stored


async def test_a_missed_target_inhibits_behind_and_is_delivered_when_office_hours_are_open(
    tmp_path: Path, oncall: Oncall
) -> None:
    """DX_ALERTMANAGER_OFFICE_HOURS=always opens the office-hours interval (what the test stack uses)."""
    missed, behind = tracked(Status.MISSED), tracked(Status.BEHIND)
    with alertmanager(tmp_path, oncall, office_hours="always") as url:
        sink = Alertmanager(url)
        try:
            await sink.send([missed, behind])
        finally:
            await sink.close()

        async def inhibited() -> bool:
            alerts = (await get(f"{url}/api/v2/alerts")).json()
            state = {a["labels"]["alertname"]: a["status"] for a in alerts}
            return (
                bool(state.get("DxTargetBehind", {}).get("inhibitedBy"))
                and state["DxTargetMissed"]["state"] == "active"
            )

        assert await eventually(inhibited, timeout=30, interval=0.5)

        async def missed_arrived() -> list[dict[str, Any]]:
            return [n for n in await oncall.notifications() if n["channel"] == "email"]

        (mail,) = await eventually(missed_arrived, timeout=60, interval=0.5)
        assert mail["title"] == f"[dxmon] Cảnh báo (firing): {missed.annotations['summary']}"
        names = {a["labels"]["alertname"] for n in await oncall.notifications() for a in n["alerts"]}
        assert names == {"DxTargetMissed"}


@contextmanager
def prometheus(tmp_path: Path, alertmanager_url: str) -> Iterator[str]:
    """A private Prometheus evaluating the project's meta rules every second, sending to `alertmanager_url`; it
    re-sends firing alerts every second (default: every minute, and the first send may precede its discovery of
    the Alertmanager)."""
    port = free_port()
    config = tmp_path / "prometheus.yml"
    rules = ROOT / "deploy" / "prometheus" / "rules" / "dx-meta-alerts.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: ['{rules}']\n"
        "alerting: {alertmanagers: [{static_configs: [{targets: ['"
        + alertmanager_url.removeprefix("http://")
        + "']}]}]}\n",
        encoding="utf-8",
    )
    log = (tmp_path / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}", "--rules.alert.resend-delay=1s"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


async def test_the_watchdog_rule_reaches_the_on_call_receiver(tmp_path: Path, oncall: Oncall) -> None:
    """Prometheus (rule Watchdog) → Alertmanager (route watchdog) → the receiver's /watchdog: the page shows it."""
    with alertmanager(tmp_path, oncall) as am_url, prometheus(tmp_path, am_url):

        async def heartbeat() -> str | None:
            watchdog_at: str | None = (await get(f"http://127.0.0.1:{oncall.port}/api/notifications")).json()[
                "watchdog_at"
            ]
            return watchdog_at

        assert await eventually(heartbeat, timeout=60, interval=0.5)
    assert await oncall.notifications() == []  # a heartbeat, not a notification for a person
    page = (await get(f"http://127.0.0.1:{oncall.port}/")).text
    assert "Watchdog nhận lúc" in page
