"""The local Prometheus scrapes the ports the services are configured with: deploy/local/prometheus.sh generates
its configuration from the settings (dx/prometheus_config.py) before it starts."""

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter, start_http_server

from dx import prometheus_config
from shared.settings import Settings
from testing.processes import ROOT, free_port
from tests.support.env import eventually
from tests.support.infra import PrivateInstance, _instance

COMMITTED = ROOT / "deploy" / "prometheus" / "prometheus.yml"


def test_the_committed_configuration_is_the_one_generated_for_the_defaults() -> None:
    defaults = Settings.model_construct()  # the fields' defaults, whatever the environment says
    assert COMMITTED.read_text(encoding="utf-8") == prometheus_config.render(defaults), (
        "run `dx config --prometheus > deploy/prometheus/prometheus.yml` with no DX_* variables set"
    )


def test_targets_follow_the_ports_of_the_settings() -> None:
    settings = Settings.model_construct(collector_port=18080, alertmanager_url="http://127.0.0.1:19093")
    targets = {job: target for job, target, _, _ in prometheus_config.scrape_targets(settings)}
    assert targets["collector"] == "127.0.0.1:18080" and targets["alertmanager"] == "127.0.0.1:19093"


@pytest.fixture
def collector_port() -> Iterator[int]:
    """A /metrics endpoint on a port other than the default, standing in for a collector started there."""
    registry = CollectorRegistry()
    Counter("dx_scrape_probe", "Scraped by the private Prometheus", registry=registry).inc()
    port = free_port()
    server, thread = start_http_server(port, "127.0.0.1", registry)
    yield port
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def private_prometheus(collector_port: int) -> Iterator[PrivateInstance]:
    yield from _instance("prometheus", ["DX_PROMETHEUS_PORT"], DX_COLLECTOR_PORT=str(collector_port))


async def test_a_collector_on_another_port_is_scraped(private_prometheus: PrivateInstance, collector_port: int) -> None:
    base = f"http://127.0.0.1:{private_prometheus.port}"

    async def scraped() -> bool:
        async with httpx.AsyncClient(timeout=5) as client:
            body = (await client.get(f"{base}/api/v1/targets")).json()
        collectors = [t for t in body["data"]["activeTargets"] if t["labels"]["job"] == "collector"]
        assert len(collectors) == 1, body
        (collector,) = collectors
        assert collector["scrapeUrl"] == f"http://127.0.0.1:{collector_port}/metrics"
        return bool(collector["health"] == "up")

    await eventually(scraped, timeout=60, interval=0.5)
    async with httpx.AsyncClient(timeout=5) as client:
        body = (
            await client.get(f"{base}/api/v1/query", params={"query": 'dx_scrape_probe_total{job="collector"}'})
        ).json()
    assert [float(r["value"][1]) for r in body["data"]["result"]] == [1.0]
