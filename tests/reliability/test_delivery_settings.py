"""Delivery settings made explicit: the Kafka clients the services really build use acks=all with idempotence and never
auto-commit, and every number that is summed is an integer or numeric column in PostgreSQL."""

import ast
import asyncio
import contextlib
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.aggregator.main import run as run_aggregator
from services.aggregator.settings import AggregatorSettings
from services.collector.main import create_app
from shared.adapters.kafka import consumer_kwargs, producer_kwargs, topic_specs
from shared.settings import Settings
from testing.processes import ROOT, free_port
from tests.integration.collector.support import collector_settings
from tests.support.db import fetch
from tests.support.env import eventually

pytestmark = pytest.mark.integration


KAFKA_CLIENTS = ("AIOKafkaProducer", "AIOKafkaConsumer")


def assert_at_least_once(clients: list[Any]) -> None:
    producers = [c for c in clients if isinstance(c, AIOKafkaProducer)]
    consumers = [c for c in clients if isinstance(c, AIOKafkaConsumer)]
    assert producers and consumers
    for p in producers:
        assert p._sender._acks == -1  # acks=all
        assert p._txn_manager is not None  # idempotence on (aiokafka's producer-id manager)
    for c in consumers:
        assert c._enable_auto_commit is False
        assert c._isolation_level == "read_committed"


def test_the_shared_kwargs_build_at_least_once_clients(settings: Settings) -> None:
    async def build() -> list[Any]:
        return [AIOKafkaProducer(**producer_kwargs(settings)), AIOKafkaConsumer(**consumer_kwargs(settings, "g"))]

    assert_at_least_once(asyncio.run(build()))


def test_every_kafka_client_in_the_code_is_built_from_the_shared_kwargs() -> None:
    """No service or tool builds a producer or consumer with aiokafka's defaults. (The alerter's FastStream broker
    is checked in tests/unit/alerter/test_alerter_kafka.py.)"""
    calls = []
    for path in sorted([*(ROOT / "services").rglob("*.py"), *(ROOT / "dx").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in (
                "AIOKafkaProducer",
                "AIOKafkaConsumer",
            ):
                spread = [k.value for k in node.keywords if k.arg is None]
                names = {getattr(getattr(v, "func", None), "id", None) for v in spread}
                calls.append((str(path.relative_to(ROOT)), node.lineno, names))
    assert len(calls) >= 5
    for where, line, names in calls:
        assert names & {"producer_kwargs", "consumer_kwargs", "client_kwargs"}, (where, line)
    for where, line, names in calls:
        if "client_kwargs" in names:  # consumers without a group (readers of a topic), never committing
            text = (ROOT / where).read_text().splitlines()[line - 1 : line + 3]
            assert any("enable_auto_commit=False" in t for t in text), (where, line)


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every aiokafka client constructed while the test runs."""
    clients: list[Any] = []
    for cls in (AIOKafkaProducer, AIOKafkaConsumer):
        original = cls.__init__

        def init(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> None:
            _original(self, *args, **kwargs)
            clients.append(self)

        monkeypatch.setattr(cls, "__init__", init)
    return clients


async def test_the_collector_and_the_aggregator_build_at_least_once_clients(
    isolated: Settings, built: list[Any]
) -> None:
    app = create_app(collector_settings(isolated))
    async with app.router.lifespan_context(app):
        await eventually(lambda: _both(built), timeout=30)  # the ingest consumer is built once Kafka answered
        assert_at_least_once(built)
    built.clear()
    values = {**isolated.model_dump(), "aggregator_metrics_port": free_port(), "aggregator_group": "delivery-test"}
    stop = asyncio.Event()
    task = asyncio.create_task(run_aggregator(AggregatorSettings(**values), stop))
    try:
        await eventually(lambda: _both(built), timeout=30)
        assert_at_least_once(built)
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 30)


async def _both(clients: list[Any]) -> bool:
    return any(isinstance(c, AIOKafkaConsumer) for c in clients) and any(
        isinstance(c, AIOKafkaProducer) for c in clients
    )


def test_topics_never_elect_an_unclean_leader_and_follow_the_min_isr_setting() -> None:
    production = Settings(kafka_replication_factor=3, kafka_min_insync_replicas=2)
    for spec in topic_specs(production):
        assert spec.config["unclean.leader.election.enable"] == "false"
        assert spec.config["min.insync.replicas"] == "2"
    documented = (ROOT / "deploy" / "production" / "topics.properties").read_text()
    for spec in topic_specs(Settings()):
        assert f"{spec.name}.partitions={spec.partitions}" in documented


async def test_summed_numbers_are_integer_or_numeric_columns(db_settings: Settings) -> None:
    rows = await fetch(
        db_settings,
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public'"
        " AND column_name IN ('numerator', 'denominator', 'value', 'events')"
        " AND table_name NOT IN ('targets')",
    )
    types = {(r["table_name"], r["column_name"]): r["data_type"] for r in rows}
    for table in ("applied_events", "current_values", "daily_values", "agg_buckets"):
        assert (table, "numerator") in types and (table, "denominator") in types
    assert {t for t in types.values()} <= {"bigint", "numeric", "integer"}, types
