"""A real broker whose only client listener is SASL_SSL (deploy/kafka/sasl/server-scram-ssl.properties.tmpl;
certificates made by the test with openssl): the collector and the aggregator connect with the CA alone (an event
goes HTTP → Kafka → PostgreSQL), a client certificate is accepted too, and a client that trusts another CA, or
speaks SASL without TLS, is refused."""

import os
from collections.abc import Iterator
from pathlib import Path

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
from tests.support.scram import scram_broker
from tests.support.tls import Pki, make_pki

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "admin-" + os.urandom(6).hex()
DX_PASSWORD = "dx-" + os.urandom(6).hex()


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    tls = tmp_path / "tls"
    pki = make_pki(tls)
    tls.chmod(0o755)
    return pki


@pytest.fixture
def tls_broker(pki: Pki) -> Iterator[str]:
    with scram_broker("server-scram-ssl.properties.tmpl", ADMIN_PASSWORD, DX_PASSWORD, TLS_DIR=pki.ca.parent) as b:
        yield b


def sasl_ssl(settings: Settings, bootstrap: str, cafile: Path, **more: object) -> Settings:
    return settings.model_copy(update={
        "kafka_bootstrap": bootstrap, "kafka_security_protocol": "SASL_SSL", "kafka_ssl_cafile": cafile,
        "kafka_sasl_mechanism": "SCRAM-SHA-512", "kafka_sasl_username": "dx", "kafka_sasl_password": DX_PASSWORD,
        **more,
    })  # fmt: skip


async def _refused(settings: Settings) -> None:
    producer = AIOKafkaProducer(**producer_kwargs(settings), request_timeout_ms=5000)
    with pytest.raises(KafkaConnectionError):
        await producer.start()
    await producer.stop()


async def test_services_connect_over_sasl_ssl_and_untrusted_or_plain_clients_are_refused(
    isolated: Settings, tls_broker: str, pki: Pki, tmp_path: Path, tally: Tally, caplog: pytest.LogCaptureFixture
) -> None:
    other_ca = make_pki(tmp_path / "other", ca_name="not-our-ca").ca
    await _refused(sasl_ssl(isolated, tls_broker, other_ca))  # the broker's certificate does not chain to it
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text
    tally.bad_input(True)
    plain = isolated.model_copy(update={
        "kafka_bootstrap": tls_broker, "kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_mechanism":
        "SCRAM-SHA-512", "kafka_sasl_username": "dx", "kafka_sasl_password": DX_PASSWORD,
    })  # fmt: skip
    await _refused(plain)  # SASL without TLS gets nothing from a TLS listener
    tally.bad_input(True)

    with_cert = sasl_ssl(isolated, tls_broker, pki.ca, kafka_ssl_certfile=pki.client_cert,
                         kafka_ssl_keyfile=pki.client_key)  # fmt: skip
    await ensure_topics(with_cert)
    producer = AIOKafkaProducer(**producer_kwargs(with_cert))
    await producer.start()
    try:
        await producer.send_and_wait(with_cert.topic_alerts, b"client certificate accepted")
    finally:
        await producer.stop()

    settings = sasl_ssl(isolated, tls_broker, pki.ca)  # the CA alone: client certificates are optional
    auth = await add_source(settings, "tls")
    coll = collector(settings).start()
    agg = aggregator(settings, "agg-tls").start()
    try:
        async with httpx.AsyncClient(base_url=base_url(coll), headers=auth, timeout=30) as client:
            response = await client.post("/v1/events", content=orjson.dumps([ratio_event(unit="14758")]))
        assert response.status_code == 202, response.text
        await eventually(lambda: _applied(settings), timeout=60)
    finally:
        agg.stop()
        coll.stop()


async def _applied(settings: Settings) -> bool:
    return await applied_count(settings) == 1
