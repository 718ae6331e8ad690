"""The Prometheus rule files are valid (promtool check rules) and behave as their unit tests say (promtool test)."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from services.dashboards.build import build_all
from testing.dashboards import queries

ROOT = Path(__file__).resolve().parents[2]
PROM = ROOT / "deploy" / "prometheus"
RULES = sorted((PROM / "rules").glob("*.yml"))
TESTS = sorted((PROM / "tests").glob("*.yml"))
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=PROM, timeout=120)


def test_rule_files_pass_promtool_check() -> None:
    assert RULES, "no rule files in deploy/prometheus/rules"
    result = promtool("check", "rules", *map(str, RULES))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("test_file", TESTS, ids=lambda p: p.name)
def test_rule_unit_tests_pass(test_file: Path) -> None:
    result = promtool("test", "rules", str(test_file))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alerting_rule_has_a_unit_test() -> None:
    alerts = {
        rule["alert"]
        for path in RULES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    tested = {
        case["alertname"]
        for path in TESTS
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert alerts and alerts <= tested, f"alerts without a firing test: {sorted(alerts - tested)}"


def test_every_dashboard_promql_expression_parses(tmp_path: Path) -> None:
    """promtool checks each panel's PromQL as the expression of a throw-away recording rule."""
    exprs = sorted({q.text for board in build_all().values() for q in queries(board) if q.kind == "promql"})
    rules = [{"record": f"dx_dashboard_check_{i}", "expr": expr} for i, expr in enumerate(exprs)]
    path = tmp_path / "dashboard-exprs.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard-exprs", "rules": rules}]}, allow_unicode=True))
    result = promtool("check", "rules", str(path))
    assert exprs and result.returncode == 0, result.stdout + result.stderr


def test_prometheus_config_loads_the_rule_folder() -> None:
    config = yaml.safe_load((PROM / "prometheus.yml").read_text())
    assert "rules/*.yml" in config["rule_files"]
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
