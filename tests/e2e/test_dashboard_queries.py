"""With the stack and the three services running and events flowing, every PromQL expression of every generated
panel returns at least one series from the real Prometheus, and every SQL query returns rows from the real
PostgreSQL as Grafana's read-only role.

The shared Prometheus scrapes the default ports (8080, 9101, 9102), so the services run there: started by this
test (fresh database and topics) or, when all three already answer there, reused as they are. Marked
`default_ports`: it runs after every other test (tests/conftest.py).
"""

import importlib.util
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from services.dashboards.build import build_all
from shared import names
from shared.adapters.kafka import producer_kwargs
from shared.domain.catalog import Catalog, Indicator, Measure
from shared.domain.hierarchy import Hierarchy
from shared.settings import Settings
from testing.dashboards import Query, expand_sql, queries, time_range
from testing.processes import ROOT, ServiceProcess, settings_env
from tests.support.dashboard_links import follow_links
from tests.support.env import eventually

pytestmark = pytest.mark.default_ports

SERVICES = {
    "collector": f"http://127.0.0.1:{names.PORT_COLLECTOR}/readyz",
    "aggregator": f"http://127.0.0.1:{names.PORT_AGGREGATOR_METRICS}/metrics",
    "alerter": f"http://127.0.0.1:{names.PORT_ALERTER_METRICS}/metrics",
}
FAST_ALERTER = {
    "DX_ALERTER_GRACE_SECONDS": "0",
    "DX_ALERTER_EVAL_INTERVAL_SECONDS": "2",
    "DX_ALERTER_RECONCILE_SECONDS": "1",
}
RULE_GROUPS = {"dx-pipeline-recording", "dx-pipeline-alerts"}
TOKEN = re.compile(r"dxs_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")
DASHBOARDS = build_all()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code < 500
    except httpx.HTTPError:
        return False


@pytest.fixture
def services(isolated: Settings) -> Iterator[Settings]:
    """The three services on the default ports; yields the settings they run with."""
    missing = [n for n in SERVICES if importlib.util.find_spec(f"services.{n}.__main__") is None]
    if missing:
        pytest.skip(f"services not in the repository yet: {missing}")
    answering = [name for name, url in SERVICES.items() if _answers(url)]
    if len(answering) == len(SERVICES):
        yield Settings()  # the running stack (make up): its own database and topics
        return
    if answering:
        pytest.fail(f"{answering} already bound to default ports without the others: stop them (make down)")
    procs = []
    try:
        for name, url in SERVICES.items():
            extra = FAST_ALERTER if name == "alerter" else {}
            procs.append(ServiceProcess(name, isolated, url, extra).start())
        yield isolated
    finally:
        for proc in reversed(procs):
            proc.stop()


def _add_source(settings: Settings) -> str:
    name = f"dash-e2e-{uuid.uuid4().hex[:8]}"
    out = subprocess.run(
        [sys.executable, "-m", "dx.main", "sources", "add", name],
        env=settings_env(settings),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = TOKEN.search(out.stdout)
    assert out.returncode == 0 and match, out.stdout + out.stderr
    return match.group(0)


def _event(ind: Indicator, unit: str, when: datetime, step: int) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "indicator": ind.code,
        "unit": unit,
        "observed_at": when.isoformat(),
    }
    if ind.measure is Measure.RATIO:
        event |= {"numerator": 30 + 5 * step, "denominator": 100}
    elif ind.measure is Measure.COUNT:
        event["value"] = step % 2
    elif ind.measure is Measure.RANK:
        event["value"] = 20 - step
    else:
        low, high = ind.min if ind.min is not None else 0.0, ind.max if ind.max is not None else 100.0
        event["value"] = round(low + (high - low) * (0.3 + 0.05 * step), 2)
    return event


def _events(catalog: Catalog, hierarchy: Hierarchy, now: datetime) -> list[dict[str, Any]]:
    """Five observations over three weeks for every indicator at the province and at five communes in force."""
    communes = sorted(u.code for u in hierarchy.units_in_force(now.date(), "commune"))[:5]
    out = []
    for ind in catalog.indicators:
        units = {"province": [names.PROVINCE_CODE], "commune": communes}.get(ind.reported_at, [])
        for unit in units:
            for step, days in enumerate((21, 14, 9, 4, 1)):
                out.append(_event(ind, unit, now - timedelta(days=days), step))
    return out


async def _send_events(settings: Settings, token: str, catalog: Catalog, hierarchy: Hierarchy) -> None:
    """One round of valid events for every indicator, plus one reject (unknown indicator) and one correction."""
    events = _events(catalog, hierarchy, datetime.now(UTC))
    bad = {**events[0], "event_id": str(uuid.uuid4()), "indicator": "gov.no_such_indicator"}
    url = f"http://127.0.0.1:{settings.collector_port}/v1/events"
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        for i in range(0, len(events), 500):
            resp = await client.post(url, json=[*events[i : i + 500], bad])
            assert resp.status_code == 202, resp.text
            assert resp.json()["accepted"] == len(events[i : i + 500])
        # a correction of the first event (the same figures, as a re-sent survey batch would be), for the unit
        # dashboard's table of recent corrections
        fix = {**events[0], "event_id": str(uuid.uuid4()), "corrects": events[0]["event_id"]}
        resp = await client.post(url, json=[fix])
        assert resp.status_code == 202 and resp.json()["accepted"] == 1, resp.text


async def _send_poison(settings: Settings) -> None:
    """A message the collector must dead-letter (ingest topic) and one the aggregator must (events topic)."""
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    await producer.start()
    try:
        await producer.send_and_wait(settings.topic_ingest, b"{not json", key=b"poison")
        await producer.send_and_wait(settings.topic_events, orjson.dumps({"not": "an event"}), key=b"poison:38")
    finally:
        await producer.stop()


async def _scraped(prom: httpx.AsyncClient, settings: Settings, metric: str) -> None:
    async def present() -> bool:
        body = (await prom.get(f"{settings.prometheus_url}/api/v1/query", params={"query": metric})).json()
        return bool(body["data"]["result"])

    await eventually(present, timeout=60, interval=1.0)


async def _reload_prometheus_rules(client: httpx.AsyncClient, base: str) -> None:
    """Make the shared Prometheus (re)load deploy/prometheus/rules/*.yml (lifecycle API; nothing is stopped)."""
    await client.post(f"{base}/-/reload")

    async def loaded() -> bool:
        groups = (await client.get(f"{base}/api/v1/rules")).json()["data"]["groups"]
        return {g["name"] for g in groups} >= RULE_GROUPS

    await eventually(loaded, timeout=30)


@pytest.fixture
async def flowing(
    services: Settings, catalog: Catalog, hierarchy: Hierarchy
) -> AsyncIterator[tuple[Settings, httpx.AsyncClient]]:
    async with httpx.AsyncClient(timeout=10) as prom:
        await _reload_prometheus_rules(prom, services.prometheus_url)
        token = _add_source(services)
        await _send_events(services, token, catalog, hierarchy)
        await _send_poison(services)
        # Counters are born at their first value; rates need a second round after Prometheus has seen them.
        await _scraped(prom, services, f"{names.M_EVENTS_RECEIVED}_total")
        await _send_poison(services)
        await _send_events(services, token, catalog, hierarchy)
        yield services, prom


def _promql() -> list[Query]:
    """The connector panels need a pull collector with connectors: tests/e2e/test_connector_panel.py runs them."""
    every = [q for board in DASHBOARDS.values() for q in queries(board) if q.kind == "promql"]
    return [q for q in every if "dx_connector_" not in q.text]


async def test_every_panel_query_answers_on_the_real_stack(
    flowing: tuple[Settings, httpx.AsyncClient], catalog: Catalog
) -> None:
    settings, prom = flowing
    pending_prom = {q.text: q for q in _promql()}

    async def promql_answers() -> bool:
        for text in list(pending_prom):
            body = (await prom.get(f"{settings.prometheus_url}/api/v1/query", params={"query": text})).json()
            assert body["status"] == "success", (text, body)
            if body["data"]["result"]:
                del pending_prom[text]
        assert not pending_prom, f"no series yet: {sorted(f'{q.where}: {q.text}' for q in pending_prom.values())}"
        return True

    sql = [(board, q) for board in DASHBOARDS.values() for q in queries(board) if q.kind == "sql"]
    conn = await asyncpg.connect(settings.pg_dsn("grafana"))
    try:

        async def sql_answers() -> bool:
            now = datetime.now(UTC)
            variables = await _grafana_variables(conn, catalog, now)
            empty = []
            for board, q in sql:
                start, end = PLAN_YEARS if q.where.startswith("annotation") else time_range(board, now)
                if not await conn.fetch(expand_sql(q.text, _for(board, variables), start, end)):
                    empty.append(f"{q.dashboard} / {q.where}")
            assert not empty, f"no rows yet: {empty}"
            followed = await follow_links(conn, DASHBOARDS, lambda board: _for(board, variables), now)
            assert {f.split(":")[0] for f in followed} >= {"dx-overview", "dx-units", "dx-alerts"}, followed
            return True

        await eventually(sql_answers, timeout=120, interval=1.0)
        await eventually(promql_answers, timeout=120, interval=2.0)
    finally:
        await conn.close()


# Annotations are run over the plan's years (the reform dates and deadlines lie outside short default ranges).
PLAN_YEARS = (datetime(2020, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC))


def _for(board: dict[str, Any], variables: dict[str, str]) -> dict[str, str]:
    """The Alerts dashboard opens with every filter on "all"; the others with the user's unit and indicator."""
    if board["uid"] == "dx-alerts":
        return {**variables, "unit": "__all", "indicator": "__all", "milestone": "__all"}
    return variables


async def _grafana_variables(conn: asyncpg.Connection, catalog: Catalog, now: datetime) -> dict[str, str]:
    """What a user would pick: the default unit (the province), and among the indicators the variable offers,
    the first one reported by communes (so the sub-units panel has rows)."""
    board = DASHBOARDS["dx-units.json"]
    variables = {"unit": names.PROVINCE_CODE, "milestone": "2030", "district": "__all", "severity": "__all"}
    indicator_var = next(q for q in queries(board) if q.where == "variable indicator")
    offered = [r["__value"] for r in await conn.fetch(expand_sql(indicator_var.text, variables, now, now))]
    by_commune = [code for code in offered if catalog[code].reported_at == "commune"]
    assert by_commune, f"the indicator variable offers no commune-reported indicator yet: {offered}"
    variables["indicator"] = by_commune[0]
    return variables
