"""Kafka client settings made explicit (the client defaults are not at-least-once) and topic creation."""

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.helpers import create_ssl_context

from shared.contracts.topics import source_topic
from shared.settings import Settings


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str]


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """The topics of docs/events-and-topics.md with their partitions and cleanup policies."""
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


def source_topic_spec(settings: Settings, source: str) -> TopicSpec:
    """A source's own ingest topic `dx.ingest.v1.<source>`: the ingest topic's partitions and configs."""
    ingest = next(s for s in topic_specs(settings) if s.name == settings.topic_ingest)
    return TopicSpec(source_topic(settings.topic_ingest, source), ingest.partitions, ingest.config)


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


# aiokafka keeps one fetch in flight per broker, for the partitions with no records buffered when it was sent; a
# partition drained meanwhile waits for that fetch, which the broker holds up to fetch_max_wait_ms when its own
# partitions have nothing new (aiokafka/consumer/fetcher.py, `_fetch_requests_routine`). At the default 500 ms the
# aggregator sat idle for up to half a second at the end of a backlog, and a rollup reached the alerter up to half a
# second late (bench/README.md, session 13).


def consumer_kwargs(settings: Settings, group: str) -> dict[str, Any]:
    """Never auto-commit: offsets move only after the effect is durable; fetches bounded as said above."""
    return {
        **client_kwargs(settings),
        "group_id": group_id(settings, group),
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
        "heartbeat_interval_ms": 1000,  # a member added, stopped or lost is noticed within a second, not three
        "fetch_max_wait_ms": settings.kafka_fetch_max_wait_ms,
    }


# Broker error code for "topic already exists": a concurrent creator won the race, which is fine.
TOPIC_ALREADY_EXISTS = 36
# Configs whose drift breaks a guarantee (compaction of dx.rollups.v1, durability of acks=all); retention may be
# tuned by operators and is not checked.
CHECKED_CONFIGS = ("cleanup.policy", "min.insync.replicas", "unclean.leader.election.enable")


class TopicsError(Exception):
    """The broker refused a topic, or an existing topic differs from its spec; one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def topic_drift(
    spec: TopicSpec, replication: int, partitions: int, replicas: int, configs: dict[str, str]
) -> list[str]:
    """How an existing topic differs from its spec (more partitions than planned is a deliberate scale-out)."""
    problems = []
    if partitions < spec.partitions:
        problems.append(f"{spec.name}: {partitions} partitions, expected at least {spec.partitions}")
    if replicas != replication:
        problems.append(f"{spec.name}: replication factor {replicas}, expected {replication}")
    for key in CHECKED_CONFIGS:
        want = spec.config.get(key, "delete" if key == "cleanup.policy" else None)
        if want is not None and configs.get(key) != want:
            problems.append(f"{spec.name}: {key}={configs.get(key)}, expected {want}")
    return problems


async def ensure_topics(
    settings: Settings, specs: list[TopicSpec] | None = None, leader_timeout_s: float = 30.0
) -> list[str]:
    """Create missing topics and verify the existing ones; returns the names created now, once each has a leader on
    every partition. Raises TopicsError when the broker refuses a topic, a new one has no leader in time, or an
    existing one drifted from its spec (aiokafka returns per-topic error codes instead of raising, so each is read
    here)."""
    specs = specs or topic_specs(settings)
    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [s for s in specs if s.name not in existing]
        problems: list[str] = []
        if wanted:
            new = [
                NewTopic(s.name, s.partitions, settings.kafka_replication_factor, topic_configs=s.config)
                for s in wanted
            ]
            response = await admin.create_topics(new)
            problems += [
                f"{name}: refused by the broker: {message or code}"
                for name, code, *rest in response.topic_errors
                for message in [rest[0] if rest else ""]
                if code not in (0, TOPIC_ALREADY_EXISTS)
            ]
            # created meanwhile, or by a client whose creation the topic list did not show yet: verified, not created
            existing |= {name for name, code, *_ in response.topic_errors if code == TOPIC_ALREADY_EXISTS}
            wanted = [s for s in wanted if s.name not in existing]
        if wanted and not problems:
            unled = await _await_leaders(admin, [s.name for s in wanted], leader_timeout_s)
            problems += [_no_leader(name, leader_timeout_s) for name in unled]
        verified = [s for s in specs if s.name in existing]
        if verified:
            # a topic another client created a moment ago may not be described by this broker yet (CI saw it: 0
            # partitions and no configs), so it is compared with its spec only once every partition has a leader
            unled = await _await_leaders(admin, [s.name for s in verified], leader_timeout_s)
            problems += [_no_leader(name, leader_timeout_s) for name in unled]
            led = [s for s in verified if s.name not in unled]
            problems += await _drift(admin, led, settings.kafka_replication_factor)
        if problems:
            raise TopicsError(problems)
        return [s.name for s in wanted]
    finally:
        await admin.close()


async def _await_leaders(admin: AIOKafkaAdminClient, names: list[str], timeout_s: float) -> list[str]:
    """The names among `names` still without a leader on every partition after `timeout_s`. CreateTopics answers
    once the controller has the topic; the broker may not lead its partitions yet, so a consumer subscribing by
    pattern could miss it until its next metadata refresh and first sends are retried (a test of the collector's
    ingest saw both on a loaded CI machine)."""
    deadline = time.monotonic() + timeout_s
    while True:
        led = {t["topic"] for t in await admin.describe_topics(names) if _led(t)}
        if led >= set(names) or time.monotonic() > deadline:
            return [name for name in names if name not in led]
        await asyncio.sleep(0.1)


def _no_leader(name: str, timeout_s: float) -> str:
    return f"{name}: no leader on every partition after {timeout_s:g} s"


def _led(topic: dict[str, Any]) -> bool:
    parts = topic.get("partitions") or []
    led = all(p["error_code"] == 0 and p["leader"] >= 0 for p in parts)
    return topic.get("error_code") == 0 and bool(parts) and led


async def _drift(admin: AIOKafkaAdminClient, specs: list[TopicSpec], replication: int) -> list[str]:
    if not specs:
        return []
    described = {t["topic"]: t for t in await admin.describe_topics([s.name for s in specs])}
    responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, s.name) for s in specs])
    configs = {r[3]: {c[0]: c[1] for c in r[4]} for response in responses for r in response.resources}
    problems = []
    for spec in specs:
        parts = described[spec.name]["partitions"]
        replicas = min((len(p["replicas"]) for p in parts), default=0)
        problems += topic_drift(spec, replication, len(parts), replicas, configs.get(spec.name, {}))
    return problems


async def retention_ms(settings: Settings, topics: list[str]) -> dict[str, int | None]:
    """retention.ms of each topic as the broker has it (-1: kept forever; None: the topic or the config is
    missing)."""
    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    await admin.start()
    try:
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in topics])
    finally:
        await admin.close()
    found: dict[str, int | None] = dict.fromkeys(topics)
    for response in responses:
        for error_code, _, _, name, entries in response.resources:
            values = {entry[0]: entry[1] for entry in entries}
            if error_code == 0 and values.get("retention.ms") is not None:
                found[name] = int(values["retention.ms"])
    return found
