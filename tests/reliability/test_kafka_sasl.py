"""A real broker whose only client listener is SASL_PLAINTEXT with SCRAM-SHA-512 (deploy/kafka/sasl/, the same jars as
the local broker): the collector and the aggregator authenticate (an event goes HTTP → Kafka → PostgreSQL), and a
wrong password is refused."""

import os
from collections.abc import Iterator

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError

from shared.adapters.kafka import ensure_topics, producer_kwargs
from shared.settings import Settings
from tests.integration.collector.support import ratio_event
from tests.reliability.conftest import Tally
from tests.reliability.support import aggregator, applied_count, base_url, collector
from tests.support.db import add_source
from tests.support.env import eventually
from tests.support.scram import scram_broker as start_scram_broker

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "admin-" + os.urandom(6).hex()
DX_PASSWORD = "dx-" + os.urandom(6).hex()


@pytest.fixture
def scram_broker() -> Iterator[str]:
    """A broker whose only client listener is SASL_PLAINTEXT with SCRAM-SHA-512; yields its bootstrap address."""
    with start_scram_broker("server-scram.properties.tmpl", ADMIN_PASSWORD, DX_PASSWORD) as bootstrap:
        yield bootstrap


def scram(settings: Settings, bootstrap: str, password: str) -> Settings:
    return settings.model_copy(update={
        "kafka_bootstrap": bootstrap, "kafka_security_protocol": "SASL_PLAINTEXT",
        "kafka_sasl_mechanism": "SCRAM-SHA-512", "kafka_sasl_username": "dx", "kafka_sasl_password": password,
    })  # fmt: skip


async def test_services_authenticate_with_scram_and_a_wrong_password_is_refused(
    isolated: Settings, scram_broker: str, tally: Tally, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = scram(isolated, scram_broker, "not-the-password")
    producer = AIOKafkaProducer(**producer_kwargs(wrong))
    with pytest.raises(KafkaConnectionError):
        await producer.start()
    await producer.stop()
    assert "SaslAuthenticationFailed" in caplog.text and "invalid credentials" in caplog.text
    tally.bad_input(True)
    plain = isolated.model_copy(update={"kafka_bootstrap": scram_broker})
    producer = AIOKafkaProducer(**producer_kwargs(plain), request_timeout_ms=5000)
    with pytest.raises(KafkaConnectionError):  # a PLAINTEXT client gets nothing from a SASL listener
        await producer.start()
    await producer.stop()
    tally.bad_input(True)

    settings = scram(isolated, scram_broker, DX_PASSWORD)
    await ensure_topics(settings)
    auth = await add_source(settings, "scram")
    coll = collector(settings).start()
    agg = aggregator(settings, "agg-scram").start()
    try:
        async with httpx.AsyncClient(base_url=base_url(coll), headers=auth, timeout=30) as client:
            response = await client.post("/v1/events", content=orjson.dumps([ratio_event(unit="14758")]))
        assert response.status_code == 202, response.text
        await eventually(lambda: _applied(settings), timeout=60)
    finally:
        agg.stop()
        coll.stop()

    bad = collector(wrong)
    with pytest.raises((RuntimeError, TimeoutError)):
        bad.start(timeout=45)  # cannot authenticate: never ready
    bad.kill()
    assert DX_PASSWORD not in coll.log_tail(100_000) and "not-the-password" not in bad.log_tail(100_000)


async def _applied(settings: Settings) -> bool:
    return await applied_count(settings) == 1
