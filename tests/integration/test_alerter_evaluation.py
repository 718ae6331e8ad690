"""The alerter's evaluation against a real PostgreSQL and Kafka: bulk evaluation of the shipped catalog, reaction
to a dx.rollups.v1 message, the domain gauges, and `dx status --json`."""

import asyncio
import json
import sys
from datetime import UTC, date, datetime

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from prometheus_client import generate_latest

from services.alerter.clock import FixedClock
from services.alerter.main import consume
from services.alerter.metrics import build_metrics
from services.alerter.rules import Tracked
from services.alerter.service import Alerter, Publisher
from services.alerter.settings import AlerterSettings
from shared.adapters.kafka import producer_kwargs
from shared.adapters.postgres import create_pool
from shared.adapters.processes import ROOT, settings_env
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.settings import Settings
from tests.support.env import eventually

NOW = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)


class Sink:
    def __init__(self) -> None:
        self.sent: list[Tracked] = []

    async def send(self, alerts: list[Tracked]) -> None:
        self.sent.extend(alerts)


class Outbox(Publisher):
    def __init__(self) -> None:
        self.messages: list[tuple[bytes, bytes]] = []

    async def publish(self, key: bytes, value: bytes) -> None:
        self.messages.append((key, value))


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
        sys.executable, "-m", "services.cli.main", "status", "--unit", "38", "--json",
        env=settings_env(isolated), cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, _ = await proc.communicate()
    assert proc.returncode == 0
    listed = json.loads(stdout)
    assert listed[0]["status"] == "missed"  # worst first
    assert all(list(item) == ["indicator", "unit", "milestone", "value", "expected", "target", "projected",
                              "status", "reason"] for item in listed)  # fmt: skip
    assert {item["unit"] for item in listed} == {"38"}


async def test_a_rollup_message_re_evaluates_its_indicator_and_unit(
    isolated: Settings, catalog: Catalog, hierarchy: Hierarchy
) -> None:
    settings = AlerterSettings(**isolated.model_dump())
    pool = await create_pool(settings)
    alerter = Alerter(settings, catalog, hierarchy, pool, Sink(), Outbox(), build_metrics(), FixedClock(NOW))
    task = asyncio.create_task(consume(alerter, settings))
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    await producer.start()
    try:
        await seed(isolated, [("econ.digital_economy_share", "38", date(2025, 12, 20), 21.0)])
        value = {"indicator": "econ.digital_economy_share", "unit": "38", "level": "province", "value": 21.0}
        await producer.send_and_wait(settings.topic_rollups, orjson.dumps(value), key=b"econ.digital_economy_share:38")

        async def evaluated() -> bool:
            return await status_of(isolated, "econ.digital_economy_share", "38", "2025") == "achieved"

        await eventually(evaluated, timeout=30)
        assert await status_of(isolated, "gov.eid_users", "38", "2025") is None  # only the message's pair
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await producer.stop()
        await pool.close()
