"""TLS settings reach the clients: Kafka SSL / SASL_SSL get a verifying `ssl_context` (aiokafka refuses to start
without one), PostgreSQL gets libpq's sslmode and certificate paths in the DSN (asyncpg reads them from there)."""

import ssl
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from aiokafka import AIOKafkaProducer
from pydantic import ValidationError

from shared.adapters.kafka import client_kwargs, producer_kwargs
from shared.settings import Settings
from tests.support.tls import make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory):
    return make_pki(tmp_path_factory.mktemp("pki"))


async def test_a_sasl_ssl_producer_can_be_built_and_verifies_the_broker(pki) -> None:
    settings = Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-512",
                        kafka_sasl_username="dx", kafka_sasl_password="pw", kafka_ssl_cafile=pki.ca)  # fmt: skip
    producer = AIOKafkaProducer(**producer_kwargs(settings))  # raised "ssl_context is mandatory" before
    context = client_kwargs(settings)["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "dx-test-ca"),),)]
    await producer.stop()


def test_a_client_certificate_is_loaded_when_given_and_a_missing_file_is_an_error(pki, tmp_path: Path) -> None:
    settings = Settings(kafka_security_protocol="SSL", kafka_ssl_cafile=pki.ca, kafka_ssl_certfile=pki.client_cert,
                        kafka_ssl_keyfile=pki.client_key)  # fmt: skip
    assert isinstance(client_kwargs(settings)["ssl_context"], ssl.SSLContext)
    with pytest.raises(FileNotFoundError):
        client_kwargs(settings.model_copy(update={"kafka_ssl_cafile": tmp_path / "missing.crt"}))


def test_plaintext_by_default_and_an_unknown_protocol_is_refused() -> None:
    assert "ssl_context" not in client_kwargs(Settings())
    with pytest.raises(ValidationError):
        Settings(kafka_security_protocol="SASL_SSL_TYPO")


def test_the_postgres_dsn_carries_sslmode_and_certificate_paths(tmp_path: Path) -> None:
    assert Settings().pg_dsn().endswith("/dxmon?sslmode=prefer")
    root = tmp_path / "ca dir" / "root.crt"
    dsn = Settings(pg_sslmode="verify-full", pg_sslrootcert=root, pg_host="db.example").pg_dsn("owner")
    assert dsn.startswith("postgresql://dx_owner:dx_owner_dev@db.example:5432/dxmon?sslmode=verify-full&sslrootcert=")
    query = parse_qs(urlsplit(dsn).query)
    assert query == {"sslmode": ["verify-full"], "sslrootcert": [str(root)]}  # a space in the path survives
    with pytest.raises(ValidationError):
        Settings(pg_sslmode="verify_full")
