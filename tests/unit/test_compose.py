"""docker-compose.yml cannot run here (no Docker engine), so it is checked against the code it must agree with."""

import importlib
import pkgutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

import services
from shared import names
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
PYTHON_SERVICES = {
    "collector": names.PORT_COLLECTOR,
    "aggregator": names.PORT_AGGREGATOR_METRICS,
    "alerter": names.PORT_ALERTER_METRICS,
}
INFRA_PORTS = {
    "kafka": names.PORT_KAFKA,
    "postgres": names.PORT_POSTGRES,
    "prometheus": names.PORT_PROMETHEUS,
    "alertmanager": names.PORT_ALERTMANAGER,
    "grafana": names.PORT_GRAFANA,
}


def _settings_fields() -> set[str]:
    """Every DX_ variable the code reads: the shared Settings and each service's subclass."""
    fields = set(Settings.model_fields)
    for info in pkgutil.iter_modules(services.__path__):
        try:
            module = importlib.import_module(f"services.{info.name}.settings")
        except ModuleNotFoundError:
            continue
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseSettings):
                fields |= set(value.model_fields)
    return {f"DX_{f.upper()}" for f in fields}


def _published(service: str) -> set[int]:
    return {int(str(p).split(":")[0]) for p in SERVICES[service].get("ports", [])}


def test_every_component_of_the_stack_is_in_the_compose_file() -> None:
    assert set(PYTHON_SERVICES) | set(INFRA_PORTS) | {"migrate"} == set(SERVICES)


@pytest.mark.parametrize(("service", "port"), sorted({**PYTHON_SERVICES, **INFRA_PORTS}.items()))
def test_each_service_publishes_its_default_port(service: str, port: int) -> None:
    assert port in _published(service)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_dx_variable_is_a_real_setting(service: str) -> None:
    env = SERVICES[service].get("environment", {})
    unknown = {k for k in env if k.startswith("DX_")} - _settings_fields()
    assert not unknown, f"{service} sets variables no code reads: {unknown}"


@pytest.mark.parametrize(("service", "port"), sorted(PYTHON_SERVICES.items()))
def test_python_services_run_their_module_and_listen_where_settings_say(service: str, port: int) -> None:
    spec = SERVICES[service]
    assert spec["command"] == ["python", "-m", f"services.{service}"]
    assert (ROOT / "services" / service / "__main__.py").exists()
    env = spec["environment"]
    assert env["DX_KAFKA_BOOTSTRAP"] == f"kafka:{names.PORT_KAFKA}"
    assert env["DX_PG_HOST"] == "postgres"
    port_vars = [v for k, v in env.items() if k.endswith("_PORT") and k != "DX_PG_PORT"]
    assert port_vars == [str(port)]
    assert spec["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("service", sorted(set(SERVICES) - {"migrate"}))
def test_every_long_running_service_has_a_health_check(service: str) -> None:
    assert SERVICES[service]["healthcheck"]["test"]


def test_the_dependencies_wait_for_health() -> None:
    for spec in SERVICES.values():
        for dep, cond in spec.get("depends_on", {}).items():
            assert dep in SERVICES
            assert cond["condition"] in {"service_healthy", "service_completed_successfully"}


def test_mounted_configuration_exists_in_the_repository() -> None:
    for spec in SERVICES.values():
        for volume in spec.get("volumes", []):
            host = volume.split(":")[0]
            assert (ROOT / host).exists(), f"{host} is mounted but missing"


def test_compose_prometheus_scrapes_the_compose_services_on_their_ports() -> None:
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.docker.yml").read_text())
    targets = {t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    for service, port in PYTHON_SERVICES.items():
        assert f"{service}:{port}" in targets
