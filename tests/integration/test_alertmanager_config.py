"""deploy/alertmanager/alertmanager.yml passes `amtool check-config` and routes as the README's runbook says."""

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
AM: dict[str, Any] = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
AMTOOL = shutil.which("amtool") or "/usr/bin/amtool"


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AMTOOL, *args], capture_output=True, text=True, timeout=60)


def receiver_for(*labels: str) -> str:
    result = amtool("config", "routes", "test", f"--config.file={CONFIG}", *labels)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def route_for(alertname: str) -> dict[str, Any]:
    """The deepest route whose matchers name `alertname` (the config matches on names only, not on values)."""
    found: dict[str, Any] = {}

    def walk(route: dict[str, Any]) -> None:
        nonlocal found
        for sub in route.get("routes", []):
            if any(alertname in m for m in sub.get("matchers", [])):
                found = sub
                walk(sub)
                return

    walk(AM["route"])
    return found


def test_the_config_passes_amtool_check_config() -> None:
    result = amtool("check-config", str(CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_reaches_a_person_and_watchdog_its_own_receiver() -> None:
    for labels in (
        ["alertname=DxServiceDown", "component=pipeline", "severity=critical"],
        ["alertname=DxTargetMissed", "severity=critical", "indicator=gov.x", "unit=38"],
        ["alertname=DxTargetBehind", "severity=warning", "indicator=gov.x", "unit=38"],
    ):
        assert receiver_for(*labels) == "oncall", labels
    assert receiver_for("alertname=Watchdog", "component=meta") == "watchdog"
    (oncall,) = (r for r in AM["receivers"] if r["name"] == "oncall")
    assert oncall["webhook_configs"][0]["url"] == "http://127.0.0.1:9099/alertmanager"
    assert oncall["email_configs"][0]["to"] and AM["global"]["smtp_smarthost"] == "127.0.0.1:2525"


def test_missed_and_at_risk_targets_notify_in_office_hours_only_and_behind_at_any_time() -> None:
    (office,) = (t for t in AM["time_intervals"] if t["name"] == "office-hours")
    assert office["time_intervals"] == [
        {
            "weekdays": ["monday:friday"],
            "times": [{"start_time": "08:00", "end_time": "17:00"}],
            "location": "Asia/Ho_Chi_Minh",
        }
    ]
    assert route_for("DxTargetMissed")["active_time_intervals"] == ["office-hours"]
    assert route_for("DxTargetAtRisk")["active_time_intervals"] == ["office-hours"]
    assert "active_time_intervals" not in route_for("DxTargetBehind")


def test_target_alerts_are_grouped_per_indicator_and_unit_and_pipeline_alerts_repeat_soon() -> None:
    target = next(r for r in AM["route"]["routes"] if any("DxTargetMissed" in m for m in r["matchers"]))
    assert {"indicator", "unit"} <= set(target["group_by"])
    pipeline = next(r for r in AM["route"]["routes"] if r["matchers"] == ['component="pipeline"'])
    assert pipeline["repeat_interval"] == "30m"


def test_a_missed_target_inhibits_behind_for_the_same_indicator_unit_and_milestone() -> None:
    assert {
        "source_matchers": ['alertname="DxTargetMissed"'],
        "target_matchers": ['alertname="DxTargetBehind"'],
        "equal": ["indicator", "unit", "milestone"],
    } in AM["inhibit_rules"]
