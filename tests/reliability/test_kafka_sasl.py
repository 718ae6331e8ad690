"""A real broker whose only client listener is SASL_PLAINTEXT with SCRAM-SHA-512 (deploy/kafka/sasl/, the same jars as
the local broker): the collector and the aggregator authenticate (an event goes HTTP → Kafka → PostgreSQL), and a
wrong password is refused."""

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError

from shared.adapters.kafka import ensure_topics, producer_kwargs
from shared.settings import Settings
from testing.processes import ROOT, free_port
from tests.integration.collector.support import ratio_event
from tests.reliability.conftest import Tally
from tests.reliability.support import aggregator, applied_count, base_url, collector
from tests.support.db import add_source
from tests.support.env import eventually

pytestmark = pytest.mark.e2e

LIBS = ROOT / ".cache" / "kafka-4.1.1" / "libs"
TEMPLATE = ROOT / "deploy" / "kafka" / "sasl" / "server-scram.properties.tmpl"
ADMIN_PASSWORD = "admin-" + os.urandom(6).hex()
DX_PASSWORD = "dx-" + os.urandom(6).hex()


def _java(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["java", "-cp", f"{LIBS}/*", *args], capture_output=True, text=True, timeout=120, check=True)


@pytest.fixture
def scram_broker() -> Iterator[str]:
    """Format (with SCRAM credentials for `admin` and `dx`) and start a broker; yields its bootstrap address."""
    if not LIBS.is_dir():
        pytest.skip("Kafka jars not fetched (deploy/local/kafka.sh start fetches them)")
    run = Path(tempfile.mkdtemp(prefix="dx-kafka-sasl-", dir="/var/tmp"))
    port, cport = free_port(), free_port()
    props = run / "server.properties"
    text = TEMPLATE.read_text()
    for key, value in {"KAFKA_PORT": port, "CONTROLLER_PORT": cport, "LOG_DIRS": run / "logs",
                       "ADMIN_PASSWORD": ADMIN_PASSWORD}.items():  # fmt: skip
        text = text.replace(f"@{key}@", str(value))
    props.write_text(text)
    cluster = _java("kafka.tools.StorageTool", "random-uuid").stdout.strip().splitlines()[-1]
    _java("kafka.tools.StorageTool", "format", "--standalone", "-t", cluster, "-c", str(props),
          "--add-scram", f"SCRAM-SHA-512=[name=admin,password={ADMIN_PASSWORD}]",
          "--add-scram", f"SCRAM-SHA-512=[name=dx,password={DX_PASSWORD}]")  # fmt: skip
    log = (run / "kafka.log").open("wb")
    proc = subprocess.Popen(
        ["java", "-Xmx512m", "-Xms128m", f"-Dlog4j2.configurationFile={ROOT}/deploy/kafka/log4j2.properties",
         f"-Dkafka.logs.dir={run}", "-cp", f"{LIBS}/*", "kafka.Kafka", str(props)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while "Kafka Server started" not in (run / "kafka.log").read_text(errors="replace"):
            assert proc.poll() is None, (run / "kafka.log").read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "the SCRAM broker did not start"
            time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(run, ignore_errors=True)


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
