"""The AsyncAPI 3 document of the five Kafka topics (docs/asyncapi.json), generated from shared/contracts.

Generated here from the pydantic models rather than by `faststream docs gen`: FastStream describes only the
subscribers and publishers of a FastStream app, which here is the alerter alone (dx.rollups.v1 in, dx.alerts.v1
out); the collector's and the aggregator's aiokafka producers, the source systems writing dx.ingest.v1 and the
dead-letter topic would be missing.
"""

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from shared.adapters.kafka import topic_specs
from shared.contracts import topics
from shared.contracts.alerts import AlertV1
from shared.contracts.deadletter import DeadLetterV1
from shared.contracts.events import SOURCE_NAME_PATTERN, AcceptedEvent, EventV1
from shared.contracts.rollups import RollupV1
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "asyncapi.json"
BINDING = "0.5.0"
PAIR_KEY = {"type": "string", "pattern": r"^[a-z]{1,16}\.[a-z0-9_]{1,48}:[0-9]{2,6}$", "description": "indicator:unit"}

# (channel id, topic, message model, key schema, headers schema, description with the delivery guarantee)
CHANNELS: list[tuple[str, str, type[BaseModel], dict[str, Any], dict[str, Any] | None, str]] = [
    (
        "ingest",
        topics.TOPIC_INGEST,
        EventV1,
        {"type": "string", "description": "any key"},
        {
            "type": "object",
            "properties": {
                topics.SOURCE_HEADER: {
                    "type": "string",
                    "pattern": SOURCE_NAME_PATTERN,
                    "description": "optional; if present it must name the topic's source, else the message is "
                    "dead-lettered `unauthenticated`",
                }
            },
        },
        "Raw events from source systems that speak Kafka, one JSON event per message, each source on its own topic "
        "`dx.ingest.v1.<source>` that only its SASL principal may write (ACLs): the source is the topic's. A "
        "message on the bare `dx.ingest.v1` authenticates nobody and is dead-lettered `unauthenticated`. The "
        "collector validates each (as POST /v1/events does, with the source's scope) and commits a batch's offsets "
        "only after every output record was acknowledged: at least once into dx.events.v1 or dx.deadletter.v1.",
    ),
    (
        "events",
        topics.TOPIC_EVENTS,
        AcceptedEvent,
        PAIR_KEY,
        None,
        "Validated events: the event as sent plus `source` and `received_at`, published by the collector with "
        "acks=all and idempotence. The aggregator applies each event_id once, ever, and stores its offsets in "
        "PostgreSQL in the same transaction: effectively once.",
    ),
    (
        "deadletter",
        topics.TOPIC_DEADLETTER,
        DeadLetterV1,
        {"type": "string", "description": "the original message's key"},
        {
            "type": "object",
            "properties": {
                topics.DLQ_REASON_HEADER: {
                    "type": "string",
                    "description": "reason code of the first error, e.g. unknown_unit",
                }
            },
        },
        "Messages the collector or the aggregator could not accept, with the reasons and the original bytes. "
        "Acknowledged before the offset of the original moves past it. `dx dlq replay` re-drives one at most once.",
    ),
    (
        "rollups",
        topics.TOPIC_ROLLUPS,
        RollupV1,
        PAIR_KEY,
        None,
        "The current value of each (indicator, unit) a batch changed, published by the aggregator after its "
        "transaction commits (compacted: the newest per key is kept). At least once; a lost message only delays "
        "the alerter, which also evaluates every target on a clock.",
    ),
    (
        "alerts",
        topics.TOPIC_ALERTS,
        AlertV1,
        {"type": "string", "description": "the alert's fingerprint"},
        None,
        "Every alert state transition (pending, firing, resolved) the leader alerter recorded, from its outbox: "
        "marked published only after Kafka acknowledged it, so at least once; deduplicate on `id`.",
    ),
]

# (operation id, action, channel id, who)
OPERATIONS = [
    ("sourceSystemsSendIngest", "send", "ingest", "source systems that speak Kafka"),
    ("collectorReceivesIngest", "receive", "ingest", "collector (group collector-ingest)"),
    ("collectorSendsEvents", "send", "events", "collector"),
    ("aggregatorReceivesEvents", "receive", "events", "aggregator (group aggregator)"),
    ("collectorAndAggregatorSendDeadLetters", "send", "deadletter", "collector, aggregator"),
    ("operatorsReceiveDeadLetters", "receive", "deadletter", "`dx dlq list` / `dx dlq replay`"),
    ("aggregatorSendsRollups", "send", "rollups", "aggregator"),
    ("alerterReceivesRollups", "receive", "rollups", "alerter (group alerter)"),
    ("alerterSendsAlerts", "send", "alerts", "alerter (the leader)"),
]


def _schemas() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for _, _, model, _, _, _ in CHANNELS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", by_alias=True)
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    return out


def document() -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document as a dict."""
    specs = {s.name: s for s in topic_specs(Settings.model_construct())}
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for channel_id, topic, model, key, headers, description in CHANNELS:
        spec = specs[topic]
        config: dict[str, Any] = {"cleanup.policy": [spec.config.get("cleanup.policy", "delete")]}
        if "retention.ms" in spec.config:
            config["retention.ms"] = int(spec.config["retention.ms"])
        channels[channel_id] = {
            "address": topic,
            "description": description,
            "messages": {model.__name__: {"$ref": f"#/components/messages/{model.__name__}"}},
            "bindings": {"kafka": {"topic": topic, "partitions": spec.partitions, "topicConfiguration": config,
                                   "bindingVersion": BINDING}},
        }  # fmt: skip
        message: dict[str, Any] = {
            "name": model.__name__,
            "title": f"{topic} message",
            "summary": next(iter((model.__doc__ or "").strip().splitlines()), ""),
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{model.__name__}"},
            "bindings": {"kafka": {"key": key, "bindingVersion": BINDING}},
        }
        if headers is not None:
            message["headers"] = headers
        messages[model.__name__] = message
    operations = {
        op: {"action": action, "channel": {"$ref": f"#/channels/{channel}"}, "summary": who}
        for op, action, channel, who in OPERATIONS
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "dxmon Kafka topics",
            "version": "1.0.0",
            "description": "Generated by `dx docs asyncapi` from shared/contracts; do not edit. Every producer "
            "uses acks=all with idempotence; no consumer auto-commits; no topic is created implicitly "
            "(`dx topics ensure`). Prose: docs/events-and-topics.md.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {"host": "127.0.0.1:9092", "protocol": "kafka", "description": "the local stack (make up)"},
            "production": {
                "host": "kafka:9092",
                "protocol": "kafka-secure",
                "description": "SASL/SCRAM over TLS; replication 3, min.insync.replicas 2 "
                "(deploy/production/topics.md)",
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": _schemas()},
    }


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


def stale(path: Path = OUTPUT) -> bool:
    """True when the file on disk differs from what the models generate."""
    return not path.exists() or path.read_text(encoding="utf-8") != render()


def write(path: Path = OUTPUT) -> bool:
    """Write the document; True when the file changed."""
    if not stale(path):
        return False
    path.write_text(render(), encoding="utf-8")
    return True
