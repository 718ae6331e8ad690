"""The alerter's evaluation against a real PostgreSQL and Kafka: bulk evaluation of the shipped catalog, reaction
to a dx.rollups.v1 message, the domain gauges, and `dx status --json`."""

import asyncio
import json
import sys
from datetime import UTC, date, datetime

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import generate_latest

from services.alerter.clock import FixedClock
from services.alerter.kafka import build_broker, subscribe_rollups
from services.alerter.metrics import build_metrics
from services.alerter.rules import TargetRow, Tracked
from services.alerter.service import Alerter, AlertPublisher
from services.alerter.settings import AlerterSettings
from shared.adapters.kafka import client_kwargs, group_id, producer_kwargs
from shared.adapters.postgres import create_pool
from shared.contracts.alerts import AlertV1
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.names import GROUP_ALERTER
from shared.settings import Settings
from testing.processes import ROOT, settings_env
from tests.support.env import eventually

NOW = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)


class Sink:
    def __init__(self) -> None:
        self.sent: list[Tracked] = []

    async def send(self, alerts: list[Tracked]) -> None:
        self.sent.extend(alerts)


class Outbox(AlertPublisher):
    def __init__(self) -> None:
        self.messages: list[AlertV1] = []

    async def publish(self, alert: AlertV1) -> None:
        self.messages.append(alert)


async def seed(settings: Settings, rows: list[tuple[str, str, date, float]]) -> None:
    conn = await asyncpg.connect(settings.pg_dsn())
    try:
        await conn.executemany(
            """INSERT INTO daily_values (indicator, unit, day, value) VALUES ($1, $2, $3, $4)
               ON CONFLICT (indicator, unit, day) DO UPDATE SET value = EXCLUDED.value""",
            rows,
        )
    finally:
        await conn.close()


async def seed_periods(settings: Settings, rows: list[tuple[str, str, str, float]]) -> None:
    """Period values (indicator, unit, period, value) as the aggregator stores them."""
    conn = await asyncpg.connect(settings.pg_dsn())
    try:
        await conn.executemany(
            """INSERT INTO period_values (indicator, unit, period, observed_at, event_id, value)
               VALUES ($1, $2, $3, now(), gen_random_uuid(), $4)""",
            rows,
        )
    finally:
        await conn.close()


async def status_of(settings: Settings, indicator: str, unit: str, milestone: str) -> str | None:
    conn = await asyncpg.connect(settings.pg_dsn())
    try:
        return await conn.fetchval(  # type: ignore[no-any-return]
            "SELECT status FROM target_status WHERE indicator = $1 AND unit = $2 AND milestone = $3",
            indicator, unit, milestone,
        )  # fmt: skip
    finally:
        await conn.close()


async def test_a_full_evaluation_covers_every_target_in_force_and_feeds_gauges_and_dx_status(
    isolated: Settings, catalog: Catalog, hierarchy: Hierarchy
) -> None:
    settings = AlerterSettings(**isolated.model_dump())
    await seed(isolated, [
        ("overall.dti_rank", "38", date(2025, 12, 1), 14.0),     # 2025: rank 14 > 10 → missed
        ("gov.eid_users", "14758", date(2026, 10, 1), 100.0),    # a commune already at 100% → achieved
    ])  # fmt: skip
    await seed_periods(isolated, [("overall.dti_rank", "38", "2025", 14.0)])  # the 2025 ranking decides 2025
    pool = await create_pool(settings)
    metrics = build_metrics()
    alerter = Alerter(settings, catalog, hierarchy, pool, Sink(), Outbox(), metrics, FixedClock(NOW))
    try:
        rows = await alerter.evaluate(None, "periodic")
    finally:
        await pool.close()
    keys = {(r.indicator, r.unit, r.milestone): r for r in rows}
    assert keys[("overall.dti_rank", "38", "2025")].status == "missed"
    assert keys[("gov.eid_users", "14758", "2030")].status == "achieved"
    assert keys[("soc.communes_dx_completed", "38", "2025")].status == "not_applicable"  # 300 of 166
    assert keys[("soc.districts_dx_completed", "38", "2030")].status == "not_applicable"  # no districts
    # district ratio targets after the reform: not_applicable rows that say why (docs/lineage.md)
    city = [r for k, r in keys.items() if k[1] == "380"]
    assert city and all(r.status == "not_applicable" and "không còn tồn tại từ 01/07/2025" in r.reason for r in city)
    # province + 166 communes + 27 former districts, 2 milestones (communes that vanished without data: no row)
    assert len([k for k in keys if k[0] == "gov.eid_users"]) == 2 * (167 + 27)
    exposition = generate_latest(metrics.registry).decode()
    assert 'dx_target_status{indicator="overall.dti_rank",milestone="2025",status="missed",unit="38"} 1.0' in exposition
    assert 'dx_unit_info{level="province",name="Tỉnh Thanh Hóa",parent="",unit="38"} 1.0' in exposition

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dx.main", "status", "--unit", "38", "--json",
        env=settings_env(isolated), cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, _ = await proc.communicate()
    assert proc.returncode == 0
    listed = json.loads(stdout)
    assert listed[0]["status"] == "missed"  # worst first
    assert all(list(item) == ["indicator", "unit", "milestone", "value", "expected", "target", "projected",
                              "status", "reason", "carried_from", "reporting_carried"] for item in listed)  # fmt: skip
    assert {item["unit"] for item in listed} == {"38"}


async def test_a_rollup_message_re_evaluates_its_indicator_and_unit(
    isolated: Settings, catalog: Catalog, hierarchy: Hierarchy
) -> None:
    settings = AlerterSettings(**isolated.model_dump())
    pool = await create_pool(settings)
    metrics = build_metrics()
    alerter = FailingFirst(settings, catalog, hierarchy, pool, Sink(), Outbox(), metrics, FixedClock(NOW))
    broker = build_broker(settings, metrics.registry)
    subscribe_rollups(broker, settings, alerter)
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    await producer.start()
    await broker.start()
    try:
        await seed(isolated, [("econ.digital_economy_share", "38", date(2025, 12, 20), 21.0)])
        await seed_periods(isolated, [("econ.digital_economy_share", "38", "2025", 21.0)])
        value = {"indicator": "econ.digital_economy_share", "unit": "38", "level": "province", "value": 21.0}
        await producer.send_and_wait(settings.topic_rollups, orjson.dumps(value), key=b"econ.digital_economy_share:38")

        async def evaluated() -> bool:
            return await status_of(isolated, "econ.digital_economy_share", "38", "2025") == "achieved"

        await eventually(evaluated, timeout=30)
        assert alerter.calls == 3  # two failed evaluations were retried, not skipped
        assert await status_of(isolated, "gov.eid_users", "38", "2025") is None  # only the message's pair

        async def committed() -> bool:
            return await committed_offset(settings, settings.topic_rollups, group_id(settings, GROUP_ALERTER)) == 1

        await eventually(committed, timeout=30)  # committed once stored
    finally:
        await broker.stop()
        await producer.stop()
        await pool.close()


class FailingFirst(Alerter):
    """An alerter whose first two rollup evaluations fail (as when PostgreSQL is briefly unreachable)."""

    calls = 0

    async def evaluate(self, pairs: list[tuple[str, str]] | None, trigger: str) -> list[TargetRow]:
        if trigger == "rollup":
            self.calls += 1
            if self.calls <= 2:
                raise ConnectionError("PostgreSQL unreachable")
        return await super().evaluate(pairs, trigger)


async def committed_offset(settings: Settings, topic: str, group: str) -> int | None:
    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    total = [meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset >= 0]
    return sum(total) if total else None
