"""dx.alerts.v1: every alert state transition the leader alerter recorded (table alert_history), for other teams.

Key: the alert's fingerprint (so one alert's transitions stay in order). Value: `AlertV1` as JSON. Published at
least once: a transition is marked published only after Kafka acknowledged it, so a consumer may see one twice
(same `id`) and should deduplicate on `id`.
"""

from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field


class AlertV1(BaseModel):
    """One transition of one alert (states: pending, firing, resolved)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, serialize_by_alias=True)

    id: int = Field(description="outbox id: increasing, unique; deduplicate on it")
    fingerprint: str = Field(description="stable id of the alert (its label set)")
    alertname: str = Field(description="DxTargetBehind, DxTargetAtRisk, DxTargetMissed or DxIndicatorStale")
    labels: dict[str, str]
    annotations: dict[str, str]
    from_state: str | None = Field(alias="from", description="state before the transition (inactive for a new alert)")
    state: str = Field(description="state after the transition: pending, firing, resolved or inactive")
    starts_at: datetime | None = Field(description="null while pending (not yet sent to Alertmanager)")
    ends_at: datetime | None
    at: datetime = Field(description="when the transition was recorded")


def alert_key(fingerprint: str) -> bytes:
    return fingerprint.encode()


def alert_from_outbox(row: Any) -> AlertV1:
    """The message of one `alert_history` row (labels and annotations are stored as JSON text)."""
    return AlertV1.model_validate({
        "id": row["id"], "fingerprint": row["fingerprint"], "alertname": row["alertname"],
        "labels": orjson.loads(row["labels"]), "annotations": orjson.loads(row["annotations"]),
        "from": row["from_state"], "state": row["to_state"], "starts_at": row["starts_at"],
        "ends_at": row["ends_at"], "at": row["at"],
    })  # fmt: skip


def alert_value(alert: AlertV1) -> bytes:
    return alert.model_dump_json(by_alias=True).encode()


def parse_alert(value: bytes) -> AlertV1:
    return AlertV1.model_validate_json(value)
