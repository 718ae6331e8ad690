"""Kafka sources authenticate: a real SASL/SCRAM broker with the authorizer on (deny by default) and each source's
ACLs applied by deploy/kafka/sasl/source-acls.sh. A source writes its own topic and is attributed by it; it cannot
write another source's topic or the bare ingest topic, cannot connect without (or with wrong) credentials, and
cannot read any source's topic, its own included. Replayed through the collector, a forbidden letter stays refused
and a revoked source's letters stay dead."""

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError

from dx.dlq import read_deadletters, replay
from shared.adapters.kafka import client_kwargs, ensure_topics, producer_kwargs
from shared.settings import Settings
from testing.processes import ROOT
from tests.integration.collector.support import (
    collector_settings,
    ratio_event,
    read_topic,
    revoke_source,
    running_app,
    with_ids,
)
from tests.reliability.conftest import Tally
from tests.support.db import add_kafka_source
from tests.support.scram import ACL_COMMAND
from tests.support.scram import scram_broker as start_scram_broker

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "admin-" + os.urandom(6).hex()
PASSWORDS = {"dx-src-xa-a": "a-" + os.urandom(6).hex(), "dx-src-xa-b": "b-" + os.urandom(6).hex()}


@pytest.fixture
def broker() -> Iterator[str]:
    with start_scram_broker(
        "server-scram.properties.tmpl", ADMIN_PASSWORD, "dx-" + os.urandom(6).hex(), users=PASSWORDS,
        append="authorizer-test.properties",
    ) as bootstrap:  # fmt: skip
        yield bootstrap


def as_user(settings: Settings, bootstrap: str, user: str, password: str) -> Settings:
    return settings.model_copy(update={
        "kafka_bootstrap": bootstrap, "kafka_security_protocol": "SASL_PLAINTEXT",
        "kafka_sasl_mechanism": "SCRAM-SHA-512", "kafka_sasl_username": user, "kafka_sasl_password": password,
    })  # fmt: skip


def apply_source_acls(bootstrap: str, ingest: str, source: str) -> None:
    """deploy/kafka/sasl/source-acls.sh as an operator runs it, with the admin's client settings."""
    with tempfile.NamedTemporaryFile("w", suffix=".properties") as admin:
        login = "org.apache.kafka.common.security.scram.ScramLoginModule required"
        admin.write("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n"
                    f'sasl.jaas.config={login} username="admin" password="{ADMIN_PASSWORD}";\n')  # fmt: skip
        admin.flush()
        env = {**os.environ, "BOOTSTRAP": bootstrap, "ADMIN_CONFIG": admin.name, "KAFKA_ACLS": ACL_COMMAND,
               "INGEST_TOPIC": ingest}  # fmt: skip
        script = Path(ROOT, "deploy", "kafka", "sasl", "source-acls.sh")
        subprocess.run([str(script), source], env=env, check=True, capture_output=True, timeout=120)


async def send(settings: Settings, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(**producer_kwargs(settings), request_timeout_ms=10_000)
    try:
        await producer.start()
        await producer.send_and_wait(topic, value)
    finally:
        await producer.stop()


async def read_as(settings: Settings, topic: str) -> tuple[bool, int]:
    """(whether the topic is visible to this principal, how many records it read from the start)."""
    consumer = AIOKafkaConsumer(**client_kwargs(settings), group_id=None, enable_auto_commit=False)
    try:
        await consumer.start()
        visible = topic in await consumer.topics()
        consumer.assign([TopicPartition(topic, p) for p in range(6)])  # the ingest topics' partitions
        await consumer.seek_to_beginning()
        got = await consumer.getmany(timeout_ms=5000)
        return visible, sum(len(rs) for rs in got.values())
    finally:
        await consumer.stop()


async def test_a_source_writes_only_its_own_topic_and_reads_none(isolated: Settings, broker: str, tally: Tally) -> None:
    admin = as_user(isolated, broker, "admin", ADMIN_PASSWORD)
    await ensure_topics(admin)
    topic_a = await add_kafka_source(admin, "xa-a", units=["14758@2025-07-01"])
    topic_b = await add_kafka_source(admin, "xa-b")
    for source in ("xa-a", "xa-b"):
        apply_source_acls(broker, admin.topic_ingest, source)
    xa_a = as_user(isolated, broker, "dx-src-xa-a", PASSWORDS["dx-src-xa-a"])

    inside = ratio_event(unit="14758", observed_at="2025-08-01T10:00:00+07:00")
    outside = ratio_event(unit="14797", observed_at="2025-08-01T10:00:00+07:00")
    await send(xa_a, topic_a, orjson.dumps(inside))
    await send(xa_a, topic_a, orjson.dumps(outside))
    for topic in (topic_b, admin.topic_ingest):  # as another source, or as nobody in particular
        with pytest.raises(TopicAuthorizationFailedError):
            await send(xa_a, topic, orjson.dumps(ratio_event()))
        tally.bad_input(True)
    await send(admin, topic_b, orjson.dumps(ratio_event()))  # something to read
    assert await read_as(admin, topic_b) == (True, 1)
    assert await read_as(xa_a, topic_b) == (False, 0)  # another source's topic is not even visible
    with pytest.raises(TopicAuthorizationFailedError):
        await read_as(xa_a, topic_a)  # visible (it may describe what it writes), not readable
    tally.bad_input(True)
    tally.bad_input(True)
    for nobody in (isolated.model_copy(update={"kafka_bootstrap": broker}),
                   as_user(isolated, broker, "dx-src-xa-a", "not-the-password")):  # fmt: skip
        with pytest.raises(KafkaConnectionError):
            await send(nobody, topic_a, orjson.dumps(ratio_event()))
        tally.bad_input(True)

    settings = collector_settings(admin, collector_source_cache_ttl_s=0)
    async with running_app(settings):
        events = await read_topic(settings, settings.topic_events, with_ids({inside["event_id"]}), timeout=60)
        (dead,) = await read_topic(settings, settings.topic_deadletter, lambda rs: len(rs) >= 1, timeout=60)
        sources = {orjson.loads(r.value)["event_id"]: orjson.loads(r.value)["source"] for r in events}
        assert sources[inside["event_id"]] == "xa-a"
        letter = orjson.loads(dead.value)
        assert (letter["reason"], letter["source"], letter["source_topic"]) == (
            "forbidden: unit: this source may not write unit 14797",
            "xa-a",
            topic_a,
        )
        # the operator replays it: back through the collector as xa-a's, refused again while the scope forbids it
        assert len((await replay(settings, await read_deadletters(settings))).replayed) == 1
        letters = await read_topic(settings, settings.topic_deadletter, lambda rs: len(rs) >= 2, timeout=60)
        again = orjson.loads(letters[-1].value)
        assert (again["reason"], again["source"]) == (letter["reason"], "xa-a")
        tally.bad_input(True)
        await revoke_source(settings, "xa-a")  # a revoked source's letters stay dead
        (_, redone) = await read_deadletters(settings)
        result = await replay(settings, [redone])
        assert [why for _, why in result.refused] == ["source 'xa-a' is revoked: its letters stay dead"]
        tally.bad_input(True)
    events = await read_topic(settings, settings.topic_events, with_ids({inside["event_id"]}), timeout=60)
    assert outside["event_id"] not in {orjson.loads(r.value)["event_id"] for r in events}
