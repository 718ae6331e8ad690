"""The three services as real processes, events flowing: every /metrics passes `promtool check metrics` (the
Prometheus naming and exposition lint), each consumer group's lag is exported by the service that consumes it, and
the alerter's domain series stay within the bound the README states (province and districts only by default)."""

import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from shared import names
from shared.adapters.kafka import producer_kwargs
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.domain.timeutil import local_date
from shared.settings import Settings
from testing.processes import ROOT, ServiceProcess, free_port
from tests.support.alerting import fast_alerter
from tests.support.db import add_source
from tests.support.env import eventually

CATALOG = ROOT / "shared" / "data" / "catalog.toml"
INDICATOR = "gov.eid_users"  # a ratio reported by communes, rolled up to the province
COMMUNE = "14758"  # Phường Hàm Rồng, in force since 2025-07-01
PROMTOOL = "promtool"


def _event(unit: str, when: datetime) -> dict[str, object]:
    return {"event_id": str(uuid.uuid4()), "indicator": INDICATOR, "unit": unit, "observed_at": when.isoformat(),
            "numerator": 40, "denominator": 100}  # fmt: skip


def promtool_check(text: str) -> str:
    """`promtool check metrics` on an exposition: its complaints ('' when clean); raises if promtool fails."""
    done = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    complaints = (done.stdout + done.stderr).strip()
    assert done.returncode == 0 or complaints, f"promtool exited {done.returncode} without output"
    return complaints


def test_promtool_flags_a_counter_without_total() -> None:
    """The lint the services are held to does bite: a counter named without `_total` is reported."""
    bad = "# HELP dx_things Things.\n# TYPE dx_things counter\ndx_things 1\n"
    assert "dx_things" in promtool_check(bad)


def _domain_bound(catalog: Catalog, hierarchy: Hierarchy) -> int:
    """Most domain series the alerter may export with the default levels: 5 per (indicator, unit) pair, 4 per
    (indicator, unit, milestone), one dx_unit_info per unit, for the province and districts in force today."""
    units = [u for u in hierarchy.units_in_force(local_date(datetime.now(UTC))) if u.level in {"province", "district"}]
    milestones = sum(len(ind.targets) for ind in catalog.indicators)
    return len(units) * (5 * len(catalog.indicators) + 4 * milestones + 1)


@pytest.fixture
def stack(isolated: Settings) -> Iterator[list[tuple[str, ServiceProcess]]]:
    port, agg_port = free_port(), free_port()
    settings = isolated.model_copy(update={"collector_port": port})
    aggregator = ServiceProcess(
        "aggregator", settings, f"http://127.0.0.1:{agg_port}/healthz", {"DX_AGGREGATOR_METRICS_PORT": str(agg_port)}
    )
    procs = [
        ("collector", ServiceProcess("collector", settings, f"http://127.0.0.1:{port}/readyz")),
        ("aggregator", aggregator),
        ("alerter", fast_alerter(settings, CATALOG, "metrics", f"http://127.0.0.1:{free_port()}", clock_start=None)),
    ]
    try:
        for _, proc in procs:
            proc.launch()
        for _, proc in procs:
            proc.wait_ready()
        yield procs
    finally:
        for _, proc in reversed(procs):
            proc.stop()


def _metrics_url(proc: ServiceProcess) -> str:
    return proc.ready_url.rsplit("/", 1)[0] + "/metrics"


async def test_every_metrics_endpoint_is_lint_clean_with_lag_per_group_and_bounded_domain_series(
    isolated: Settings, stack: list[tuple[str, ServiceProcess]], catalog: Catalog, hierarchy: Hierarchy
) -> None:
    procs = dict(stack)
    settings = procs["collector"].settings
    auth = await add_source(settings, "metrics-test")
    now = datetime.now(UTC)
    events = [_event(unit, now - timedelta(days=d)) for unit in ("38", COMMUNE) for d in (3, 2, 1)]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.collector_port}", headers=auth) as client:
        sent = await client.post("/v1/events", content=orjson.dumps(events), timeout=30)
        assert sent.status_code == 202, sent.text
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    await producer.start()
    try:
        await producer.send_and_wait(settings.topic_ingest, b"{not json", key=b"poison")
    finally:
        await producer.stop()

    groups = {
        "collector": names.GROUP_COLLECTOR_INGEST,
        "aggregator": names.GROUP_AGGREGATOR,
        "alerter": names.GROUP_ALERTER,
    }
    texts: dict[str, str] = {}

    async def scraped() -> bool:
        async with httpx.AsyncClient(timeout=5) as client:
            for name, proc in procs.items():
                texts[name] = (await client.get(_metrics_url(proc))).text
        for name, group in groups.items():
            assert f'{names.M_CONSUMER_LAG}{{group="{group}"' in texts[name], f"{name}: no lag of group {group}"
        value = f'{names.M_INDICATOR_VALUE}{{indicator="{INDICATOR}",unit="38"}}'
        assert value in texts["alerter"], "the province's value is not exported yet"
        return True

    await eventually(scraped, timeout=90, interval=1.0)
    for name, text in texts.items():
        assert promtool_check(text) == "", f"{name} /metrics: {promtool_check(text)}"
    alerter = texts["alerter"]
    assert f'unit="{COMMUNE}"' not in alerter, "communes' domain series are exported by default"
    domain = [line for line in alerter.splitlines() if line.startswith(("dx_indicator_", "dx_target_", "dx_unit_"))]
    assert 0 < len(domain) <= _domain_bound(catalog, hierarchy)
