"""docker-compose.yml cannot run here (no Docker engine), so it is validated against the Compose Specification's
JSON schema (vendored, with its licence, in the check-jsonschema package) and checked against the code it must
agree with: ports, bind hosts, Kafka listeners, DX_* variables, health checks, volumes, exposure."""

import importlib
import json
import pkgutil
import re
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
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
    "pull": names.PORT_PULL_METRICS,
}
INFRA_PORTS = {
    "kafka": names.PORT_KAFKA,
    "postgres": names.PORT_POSTGRES,
    "prometheus": names.PORT_PROMETHEUS,
    "alertmanager": names.PORT_ALERTMANAGER,
    "grafana": names.PORT_GRAFANA,
    "oncall": names.PORT_ONCALL,
}
ONE_SHOT = {"migrate", "grafana-password"}
# The variable that sets the address each service's listener binds; "" where the code binds 0.0.0.0 itself.
BIND_HOST = {
    "collector": "DX_COLLECTOR_HOST", "aggregator": "DX_AGGREGATOR_METRICS_HOST", "alerter": "DX_ALERTER_METRICS_HOST",
    "oncall": "DX_ONCALL_HOST", "pull": "DX_PULL_METRICS_HOST",
}  # fmt: skip
# Reachable from the network: source systems post events, people open Grafana. Everything else: host loopback.
PUBLIC = {"collector", "grafana"}
STATEFUL = {"kafka", "postgres", "prometheus", "alertmanager", "grafana", "oncall"}


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


def _defaults(text: str) -> str:
    """Compose interpolation with nothing set: ${VAR:-default} → default."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", text)


def _ports(service: str) -> list[tuple[str, int, int]]:
    """(host address, host port, container port) of each published port, with the default interpolation."""
    out = []
    for p in SERVICES[service].get("ports", []):
        parts = _defaults(str(p)).split(":")
        address = parts[0] if len(parts) == 3 else "0.0.0.0"
        out.append((address, int(parts[-2]), int(parts[-1])))
    return out


def _kafka_env() -> dict[str, str]:
    return {k: _defaults(str(v)) for k, v in SERVICES["kafka"]["environment"].items()}


def _listeners(value: str) -> dict[str, str]:
    return dict(item.split("://", 1) for item in value.split(","))


def test_the_file_is_valid_against_the_compose_specification() -> None:
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(COMPOSE), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_the_schema_check_catches_a_broken_file() -> None:
    """The validation above can fail: a misspelt key and a wrong type are reported."""
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    validator = jsonschema.Draft202012Validator(json.loads(schema_file.read_text(encoding="utf-8")))
    broken = {"services": {"kafka": {"image": "apache/kafka", "restart_policy": "always", "ports": 9092}}}
    assert len(list(validator.iter_errors(broken))) >= 2


def test_every_component_of_the_stack_is_in_the_compose_file() -> None:
    assert set(PYTHON_SERVICES) | set(INFRA_PORTS) | ONE_SHOT == set(SERVICES)


@pytest.mark.parametrize(("service", "port"), sorted({**PYTHON_SERVICES, **INFRA_PORTS}.items()))
def test_each_service_publishes_its_default_port(service: str, port: int) -> None:
    assert port in {host_port for _, host_port, _ in _ports(service)}


@pytest.mark.parametrize("service", sorted(set(SERVICES) - ONE_SHOT))
def test_only_the_api_and_grafana_are_published_beyond_the_hosts_loopback(service: str) -> None:
    addresses = {address for address, _, _ in _ports(service)}
    assert addresses == ({"0.0.0.0"} if service in PUBLIC else {"127.0.0.1"})


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


def test_the_oncall_receiver_runs_its_module_on_its_ports() -> None:
    spec = SERVICES["oncall"]
    assert spec["command"] == ["python", "-m", "services.oncall"]
    env = spec["environment"]
    assert (env["DX_ONCALL_PORT"], env["DX_ONCALL_SMTP_PORT"]) == (str(names.PORT_ONCALL), str(names.PORT_ONCALL_SMTP))


@pytest.mark.parametrize("service", sorted([*PYTHON_SERVICES, "oncall"]))
def test_python_services_bind_every_interface_of_their_container(service: str) -> None:
    """Bound to 127.0.0.1 inside a container, a port is unreachable for Prometheus and the published mapping."""
    assert SERVICES[service]["environment"][BIND_HOST[service]] == "0.0.0.0"
    assert f"DX_{BIND_HOST[service].removeprefix('DX_')}" in _settings_fields()


def test_kafka_advertises_an_address_for_the_containers_and_one_for_the_host() -> None:
    env = _kafka_env()
    listeners, advertised = _listeners(env["KAFKA_LISTENERS"]), _listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    assert set(advertised) == set(listeners) - {"CONTROLLER"}
    protocols = dict(item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(listeners) <= set(protocols)
    # Containers: what the services' DX_KAFKA_BOOTSTRAP names, on the listener's port.
    assert advertised["PLAINTEXT"] == SERVICES["collector"]["environment"]["DX_KAFKA_BOOTSTRAP"]
    assert listeners["PLAINTEXT"] == f":{advertised['PLAINTEXT'].split(':')[1]}"
    # The host: the published port leads to the HOST listener, advertised as what `dx` uses by default.
    (published,) = _ports("kafka")
    assert listeners["HOST"] == f":{published[2]}"
    assert advertised["HOST"] == f"{published[0]}:{published[1]}" == Settings().kafka_bootstrap


def test_postgres_is_healthy_only_when_it_answers_over_tcp() -> None:
    """pg_isready without -h uses the Unix socket, where the init-time server already answers."""
    (test,) = [t for t in SERVICES["postgres"]["healthcheck"]["test"] if "pg_isready" in t]
    assert "-h 127.0.0.1" in test


@pytest.mark.parametrize("service", sorted(set(SERVICES) - ONE_SHOT))
def test_every_long_running_service_has_a_health_check_and_restarts(service: str) -> None:
    assert SERVICES[service]["healthcheck"]["test"]
    assert SERVICES[service]["restart"] == "unless-stopped"


def test_the_alerters_health_check_uses_the_address_prometheus_scrapes() -> None:
    assert "localhost" not in " ".join(SERVICES["alerter"]["healthcheck"]["test"])


@pytest.mark.parametrize("service", sorted(STATEFUL))
def test_state_lives_in_named_volumes(service: str) -> None:
    named = {v.split(":")[0] for v in SERVICES[service]["volumes"] if not v.startswith((".", "/"))}
    assert named and named <= set(COMPOSE["volumes"])


def test_the_dependencies_wait_for_health() -> None:
    for spec in SERVICES.values():
        for dep, cond in spec.get("depends_on", {}).items():
            assert dep in SERVICES
            assert cond["condition"] in {"service_healthy", "service_completed_successfully"}


def test_mounted_configuration_exists_in_the_repository() -> None:
    for spec in SERVICES.values():
        for volume in spec.get("volumes", []):
            host = volume.split(":")[0]
            if host.startswith("."):
                assert (ROOT / host).exists(), f"{host} is mounted but missing"


def test_grafana_has_no_anonymous_admin_a_generated_password_and_a_home_dashboard() -> None:
    env = SERVICES["grafana"]["environment"]
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert "GF_SECURITY_ADMIN_PASSWORD" not in env and env["GF_SECURITY_ADMIN_PASSWORD__FILE"].startswith("/secrets/")
    assert "GF_DEFAULT_LOCALE" not in env  # not a Grafana setting; [users] default_language is
    assert env["GF_USERS_DEFAULT_LANGUAGE"] in {"en-US", "fr-FR", "es-ES", "de-DE", "pt-BR", "zh-Hans"}
    home = env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith("/var/lib/grafana/dashboards/")
    assert (ROOT / "deploy/grafana/dashboards" / Path(home).name).exists()
    assert SERVICES["grafana"]["depends_on"]["grafana-password"]["condition"] == "service_completed_successfully"
    assert "token_urlsafe" in "".join(SERVICES["grafana-password"]["command"])


def test_compose_alertmanager_sends_to_the_oncall_service() -> None:
    """The sed in its command must find the addresses it rewrites in the project's config."""
    script = " ".join(SERVICES["alertmanager"]["command"])
    config = (ROOT / "deploy/alertmanager/alertmanager.yml").read_text(encoding="utf-8")
    for before, after in re.findall(r"s\|([^|]+)\|([^|]+)\|", script):
        assert before in config and "oncall:" in after
    assert "--config.file=/alertmanager/alertmanager.yml" in script


def test_compose_prometheus_scrapes_the_compose_services_on_their_ports() -> None:
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.docker.yml").read_text())
    targets = {t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    for service, port in PYTHON_SERVICES.items():
        assert f"{service}:{port}" in targets
    assert f"alertmanager:{names.PORT_ALERTMANAGER}" in targets  # DxAlertNotificationsFailing needs its metrics
