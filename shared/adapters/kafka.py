"""Kafka client settings made explicit (the client defaults are not at-least-once) and topic creation."""

from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

from shared.settings import Settings


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str]


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """The topics of DESIGN §6 with their partitions and cleanup policies."""
    isr = {
        "min.insync.replicas": str(settings.kafka_min_insync_replicas),
        "unclean.leader.election.enable": "false",
    }
    return [
        TopicSpec(settings.topic_ingest, 6, {**isr, "retention.ms": str(7 * 86_400_000)}),
        TopicSpec(settings.topic_events, 6, {**isr, "retention.ms": str(30 * 86_400_000)}),
        TopicSpec(settings.topic_deadletter, 3, {**isr, "retention.ms": str(90 * 86_400_000)}),
        TopicSpec(settings.topic_rollups, 6, {**isr, "cleanup.policy": "compact"}),
        TopicSpec(settings.topic_alerts, 3, {**isr, "retention.ms": str(365 * 86_400_000)}),
    ]


def client_kwargs(settings: Settings) -> dict[str, Any]:
    """Connection and security settings shared by producers, consumers and the admin client."""
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_sasl_mechanism:
        kwargs.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=settings.kafka_sasl_password,
        )
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        # aiokafka refuses SSL / SASL_SSL without a context; this one verifies the broker's certificate and host
        kwargs["ssl_context"] = create_ssl_context(
            cafile=settings.kafka_ssl_cafile, certfile=settings.kafka_ssl_certfile, keyfile=settings.kafka_ssl_keyfile
        )
    return kwargs


def producer_kwargs(settings: Settings) -> dict[str, Any]:
    """acks=all and idempotence: aiokafka's defaults are acks=1 without idempotence."""
    return {**client_kwargs(settings), "acks": "all", "enable_idempotence": True, "linger_ms": 5}


def group_id(settings: Settings, group: str) -> str:
    """The consumer group id actually used for `group` (with the configured prefix)."""
    return f"{settings.kafka_group_prefix}{group}"


def consumer_kwargs(settings: Settings, group: str) -> dict[str, Any]:
    """Never auto-commit: offsets move only after the effect is durable."""
    return {
        **client_kwargs(settings),
        "group_id": group_id(settings, group),
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
        "heartbeat_interval_ms": 1000,  # a member added, stopped or lost is noticed within a second, not three
    }


async def ensure_topics(settings: Settings, specs: list[TopicSpec] | None = None) -> list[str]:
    """Create missing topics; returns the names created now. Idempotent."""
    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [s for s in (specs or topic_specs(settings)) if s.name not in existing]
        if wanted:
            new = [
                NewTopic(s.name, s.partitions, settings.kafka_replication_factor, topic_configs=s.config)
                for s in wanted
            ]
            with suppress(TopicAlreadyExistsError):  # a concurrent creator won the race
                await admin.create_topics(new)
        return [s.name for s in wanted]
    finally:
        await admin.close()
