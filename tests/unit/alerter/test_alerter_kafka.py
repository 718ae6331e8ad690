"""The alerter's FastStream subscriber and publisher, in memory (TestKafkaBroker); tests/integration has the broker."""

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from faststream import AckPolicy
from faststream.kafka import TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage
from prometheus_client import CollectorRegistry, generate_latest

from services.alerter import kafka
from services.alerter.settings import AlerterSettings
from shared.adapters.retry import Backoff
from shared.contracts.alerts import AlertV1

WHEN = datetime(2026, 3, 1, 1, 2, 3, tzinfo=UTC)


class Evaluations:
    """Stands in for Alerter.evaluate: records the pairs, fails the first `failures` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.failures, self.calls = failures, []  # type: ignore[var-annotated]

    async def evaluate(self, pairs: list[tuple[str, str]] | None, trigger: str) -> list[Any]:
        self.calls.append((pairs, trigger))
        if len(self.calls) <= self.failures:
            raise ConnectionError("PostgreSQL unreachable")
        return []


@pytest.fixture
def settings() -> AlerterSettings:
    return AlerterSettings(topic_rollups="t.rollups", topic_alerts="t.alerts")


async def test_a_batch_of_rollups_is_evaluated_by_its_keys(settings: AlerterSettings) -> None:
    registry = CollectorRegistry()
    broker = kafka.build_broker(settings, registry)
    evaluations = Evaluations()
    handler = kafka.subscribe_rollups(broker, settings, evaluations)  # type: ignore[arg-type]
    async with TestKafkaBroker(broker) as br:
        await br.publish(orjson.dumps({"indicator": "gov.eid_users"}), settings.topic_rollups, key=b"gov.eid_users:38")
        await br.publish(b"{}", settings.topic_rollups, key=b"no-separator")  # ignored, not an error
        assert handler.mock.call_count == 2
    assert evaluations.calls == [([("gov.eid_users", "38")], "rollup")]
    assert b"faststream_received_messages_total" in generate_latest(registry)


async def test_a_failing_evaluation_is_retried_until_stored_never_skipped(
    settings: AlerterSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    quick = lambda what, log: Backoff(what, log, base=0.001, cap=0.002)  # noqa: E731
    monkeypatch.setattr("services.alerter.kafka.Backoff", quick)
    broker = kafka.build_broker(settings, CollectorRegistry())
    evaluations = Evaluations(failures=3)
    kafka.subscribe_rollups(broker, settings, evaluations)  # type: ignore[arg-type]
    async with TestKafkaBroker(broker) as br:
        await br.publish(b"{}", settings.topic_rollups, key=b"overall.dti_rank:38")
    assert [c[0] for c in evaluations.calls] == [[("overall.dti_rank", "38")]] * 4  # 3 failures, then stored


def test_delivery_settings_are_explicit(settings: AlerterSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    broker = kafka.build_broker(settings, CollectorRegistry())
    kafka.subscribe_rollups(broker, settings, Evaluations())  # type: ignore[arg-type]
    assert broker.subscribers[0].ack_policy is AckPolicy.NACK_ON_ERROR  # never ACK_FIRST (auto-commit) nor ACK
    made: dict[str, Any] = {}
    monkeypatch.setattr(kafka, "KafkaBroker", lambda *args, **kw: made.update(kw))
    kafka.build_broker(settings, CollectorRegistry())
    assert made["allow_auto_create_topics"] is False  # a subscriber must never create dx.rollups.v1 uncompacted
    assert (made["acks"], made["enable_idempotence"]) == ("all", True)


async def test_alerts_are_published_as_the_model_keyed_by_fingerprint(settings: AlerterSettings) -> None:
    broker = kafka.build_broker(settings, CollectorRegistry())
    publisher = kafka.alerts_publisher(broker, settings)
    seen: list[tuple[bytes | None, dict[str, Any]]] = []

    @broker.subscriber(settings.topic_alerts)
    async def read(body: dict[str, Any], msg: KafkaMessage) -> None:
        seen.append((msg.raw_message.key, body))  # type: ignore[union-attr]

    alert = AlertV1.model_validate({
        "id": 7, "fingerprint": "ab12", "alertname": "DxTargetMissed", "labels": {"unit": "38"},
        "annotations": {"summary": "không đạt"}, "from": "firing", "state": "resolved", "starts_at": WHEN,
        "ends_at": WHEN, "at": WHEN,
    })  # fmt: skip
    async with TestKafkaBroker(broker):
        await publisher.publish(alert)
    assert len(seen) == 1
    key, body = seen[0]
    assert key == b"ab12"
    assert body["from"] == "firing" and body["state"] == "resolved" and "from_state" not in body
    assert AlertV1.model_validate(body) == alert
