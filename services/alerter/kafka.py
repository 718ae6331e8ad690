"""The alerter's Kafka side as a FastStream app: a subscriber of dx.rollups.v1 and a publisher of dx.alerts.v1.

- Delivery: `AckPolicy.NACK_ON_ERROR` is set explicitly. The handler itself retries a failed evaluation with the
  shared backoff (shared/adapters/retry.py) until it is stored, so it returns only when the batch's effect is
  durable, and then the offsets are committed; if anything escapes the handler, the batch is nacked (every
  partition of it sought back to its first record) and redelivered, never committed past (FastStream's `ACK`
  commits after a failure too, and `ACK_FIRST`, the default, auto-commits before the work: ag2ai/faststream#2618).
- Topic auto-creation is off (`allow_auto_create_topics=False`): a subscriber must never create dx.rollups.v1
  uncompacted; `dx topics ensure` creates the topics.
- The handler reads each record's key (shared/contracts/rollups.py `rollup_pair`) and not its value: the alerter
  re-reads current_values from PostgreSQL (the truth), and a batch of raw records lets one malformed message be
  ignored alone, where a typed `list[RollupV1]` batch fails whole on it.
- The publisher sends `AlertV1` models, keyed by fingerprint, with acks=all and idempotence.
- `KafkaPrometheusMiddleware` adds the faststream_* series to the alerter's registry.
"""

import logging
from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.kafka.publisher.usecase import DefaultPublisher
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from prometheus_client import CollectorRegistry

from services.alerter.service import Alerter, AlertPublisher
from shared import names
from shared.adapters.kafka import group_id
from shared.adapters.retry import Backoff, until_done
from shared.contracts.alerts import AlertV1, alert_key
from shared.contracts.rollups import rollup_pair
from shared.settings import Settings

log = logging.getLogger("dxmon.alerter")
MAX_RECORDS = 1000  # pairs evaluated together: one history query for the whole batch
# FastStream's batch subscriber sleeps batch_timeout_ms after an empty poll (BatchSubscriber.get_msg in
# faststream/kafka/subscriber/usecase.py, 0.7.8), so this bounds what it adds to the reaction time when idle;
# the aiokafka loop it replaces woke on the first record (bench: reaction p99 0.18 s against a 1 s target).
POLL_MS = 20
_SASL = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}


def security(settings: Settings) -> BaseSecurity | None:
    """FastStream's form of the Kafka security settings (shared/adapters/kafka.py `client_kwargs`)."""
    use_ssl = settings.kafka_security_protocol.endswith("SSL")
    if settings.kafka_sasl_mechanism:
        cls = _SASL[settings.kafka_sasl_mechanism]
        return cls(settings.kafka_sasl_username or "", settings.kafka_sasl_password or "", use_ssl=use_ssl)
    return BaseSecurity(use_ssl=True) if use_ssl else None


def build_broker(settings: Settings, registry: CollectorRegistry) -> KafkaBroker:
    return KafkaBroker(
        settings.kafka_bootstrap,
        security=security(settings),
        allow_auto_create_topics=False,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        middlewares=[KafkaPrometheusMiddleware(registry=registry, app_name="alerter")],
        logger=log,
        log_level=logging.DEBUG,  # one line per message would flood the log; failures are logged by the handler
    )


class KafkaAlertPublisher(AlertPublisher):
    """dx.alerts.v1 through a FastStream publisher; returns once Kafka acknowledged the message."""

    def __init__(self, publisher: DefaultPublisher) -> None:
        self.publisher = publisher

    async def publish(self, alert: AlertV1) -> None:
        await self.publisher.publish(alert, key=alert_key(alert.fingerprint))


def alerts_publisher(broker: KafkaBroker, settings: Settings) -> KafkaAlertPublisher:
    return KafkaAlertPublisher(broker.publisher(settings.topic_alerts, title="alerter:alerts"))


def pairs_of(records: Any) -> list[tuple[str, str]]:
    """The sorted (indicator, unit) pairs named by a batch of dx.rollups.v1 records (malformed keys ignored)."""
    pairs = set()
    for record in records if isinstance(records, tuple | list) else (records,):
        pair = rollup_pair(record.key)
        if pair is None:
            log.warning("ignored a dx.rollups.v1 message without an indicator:unit key at offset %s", record.offset)
        else:
            pairs.add(pair)
    return sorted(pairs)


def subscribe_rollups(broker: KafkaBroker, settings: Settings, alerter: Alerter) -> Any:
    """Evaluate the pairs of every batch of dx.rollups.v1; the batch is committed only once stored."""
    backoff = Backoff("rollup evaluation", log)

    @broker.subscriber(
        settings.topic_rollups,
        batch=True,
        max_records=MAX_RECORDS,
        batch_timeout_ms=POLL_MS,
        group_id=group_id(settings, names.GROUP_ALERTER),
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        heartbeat_interval_ms=1000,
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,  # shared/adapters/kafka.py says why
        ack_policy=AckPolicy.NACK_ON_ERROR,
        title="alerter:rollups",
    )
    async def on_rollups(msg: KafkaMessage) -> None:
        pairs = pairs_of(msg.raw_message)
        if pairs:
            await until_done(lambda: alerter.evaluate(pairs, "rollup"), backoff)

    return on_rollups
