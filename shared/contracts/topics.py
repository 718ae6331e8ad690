"""Names on the wire: the five Kafka topics, the headers they carry and the PostgreSQL NOTIFY channel.

The topics and what travels on them are described in docs/events-and-topics.md and docs/asyncapi.json.
"""

from typing import Final

TOPIC_INGEST: Final = "dx.ingest.v1"
TOPIC_EVENTS: Final = "dx.events.v1"
TOPIC_DEADLETTER: Final = "dx.deadletter.v1"
TOPIC_ROLLUPS: Final = "dx.rollups.v1"
TOPIC_ALERTS: Final = "dx.alerts.v1"

SOURCE_HEADER: Final = "dx-source"  # dx.ingest.v1: the registered source a Kafka-speaking system writes for
DLQ_REASON_HEADER: Final = "dx-reason"  # dx.deadletter.v1: reason code of the first error

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
