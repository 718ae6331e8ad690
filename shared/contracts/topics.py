"""Names on the wire: the five Kafka topics, the headers they carry and the PostgreSQL NOTIFY channel.

The topics and what travels on them are described in docs/events-and-topics.md and docs/asyncapi.json.
"""

import re
from typing import Final

TOPIC_INGEST: Final = "dx.ingest.v1"
TOPIC_EVENTS: Final = "dx.events.v1"
TOPIC_DEADLETTER: Final = "dx.deadletter.v1"
TOPIC_ROLLUPS: Final = "dx.rollups.v1"
TOPIC_ALERTS: Final = "dx.alerts.v1"

SOURCE_HEADER: Final = "dx-source"  # optional on dx.ingest.v1.<source>: must name the topic's source
REPLAY_HEADER: Final = "dx-replay-of"  # set by `dx dlq replay`: `<dead-letter topic>:<partition>:<offset>`
DLQ_REASON_HEADER: Final = "dx-reason"  # dx.deadletter.v1: reason code of the first error

_SOURCE_NAME = r"[a-z0-9][a-z0-9._-]{0,63}"  # shared/contracts/events.py SOURCE_NAME_PATTERN


def source_topic(ingest: str, source: str) -> str:
    """The ingest topic of one source (`dx.ingest.v1.<source>`): only that source's Kafka principal may write it."""
    return f"{ingest}.{source}"


def source_of_topic(ingest: str, topic: str) -> str | None:
    """The source whose ingest topic `topic` is; None for the bare ingest topic and any other topic."""
    prefix = f"{ingest}."
    name = topic[len(prefix) :] if topic.startswith(prefix) else ""
    return name if re.fullmatch(_SOURCE_NAME, name) else None


def ingest_pattern(ingest: str) -> str:
    """The collector's subscription: the bare ingest topic (whose messages authenticate nobody) and every source's."""
    return f"^{re.escape(ingest)}(\\.{_SOURCE_NAME})?$"


CHANNEL_ALERTER: Final = "dx_alerter"  # NOTIFY payload: lines `indicator<TAB>unit` whose target_status changed


def notify_payloads(pairs: set[tuple[str, str]], per_notify: int = 100) -> list[str]:
    """The NOTIFY payloads naming `pairs` (sorted, at most `per_notify` lines each: NOTIFY payloads are bounded)."""
    lines = sorted(f"{indicator}\t{unit}" for indicator, unit in pairs)
    return ["\n".join(lines[i : i + per_notify]) for i in range(0, len(lines), per_notify)]


def parse_notify(payload: str) -> set[tuple[str, str]]:
    """The (indicator, unit) pairs a NOTIFY payload names."""
    out = set()
    for line in payload.splitlines():
        indicator, _, unit = line.partition("\t")
        out.add((indicator, unit))
    return out
