"""Natively, the services run under supervisord (deploy/local/service.sh): each one killed with SIGKILL is back
and serving within 10 s, and `status` counts the restart. A private supervisord (own run dir, free ports)."""

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.settings import Settings
from testing.processes import ROOT, free_port, settings_env
from tests.support.env import eventually

pytestmark = pytest.mark.e2e
SCRIPT = ROOT / "deploy" / "local" / "service.sh"
SERVICES = {  # name: (port variable, readiness path)
    "oncall": ("DX_ONCALL_PORT", "/healthz"),
    "collector": ("DX_COLLECTOR_PORT", "/healthz"),
    "aggregator": ("DX_AGGREGATOR_METRICS_PORT", "/metrics"),
    "alerter": ("DX_ALERTER_METRICS_PORT", "/metrics"),
    "pull": ("DX_PULL_METRICS_PORT", "/healthz"),
}


class Supervised:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def run(self, *args: str) -> str:
        result = subprocess.run([str(SCRIPT), *args], env=self.env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def url(self, name: str) -> str:
        var, path = SERVICES[name]
        return f"http://127.0.0.1:{self.env[var]}{path}"

    def status(self, name: str) -> dict[str, str]:
        """`service.sh status` as key=value pairs, plus the state."""
        words = self.run("status", name).split()
        return {"state": words[1]} | dict(w.split("=", 1) for w in words[2:])


@pytest.fixture
def supervised(isolated: Settings, tmp_path: Path) -> Iterator[Supervised]:
    ports = {var: str(free_port()) for var, _ in SERVICES.values()}
    ports["DX_ONCALL_SMTP_PORT"] = str(free_port())
    env = settings_env(isolated, ports) | {"DX_RUN_DIR": str(tmp_path / "run")}
    sup = Supervised(env)
    try:
        for name in SERVICES:
            sup.run("start", name)
        yield sup
    finally:
        for name in reversed(SERVICES):
            subprocess.run([str(SCRIPT), "stop", name], env=env, capture_output=True, timeout=60)
        subprocess.run([str(SCRIPT), "shutdown"], env=env, capture_output=True, timeout=60)


async def answers(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(url)).status_code == 200
    except httpx.HTTPError:
        return False


async def test_each_killed_service_is_back_and_serving_within_10_s(supervised: Supervised) -> None:
    """One supervisord for the five, killed in turn (starting five services per case would multiply the time)."""
    for name in SERVICES:
        before = supervised.status(name)
        assert (before["state"], before["restarts"], before["reachable"]) == ("running", "0", "yes"), name
        os.kill(int(before["pid"]), signal.SIGKILL)

        async def back(name: str = name, old_pid: str = before["pid"]) -> bool:
            now = supervised.status(name)
            return now["state"] == "running" and now["pid"] != old_pid and await answers(supervised.url(name))

        assert await eventually(back, timeout=10, interval=0.2), name
        assert supervised.status(name)["restarts"] == "1", name
