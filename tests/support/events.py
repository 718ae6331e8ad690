"""Event bodies for collector tests: a valid ratio event with any field overridden (None removes the field)."""

import uuid
from typing import Any


def ratio_event(**over: Any) -> dict[str, Any]:
    event = {
        "event_id": str(uuid.uuid4()),
        "indicator": "gov.eid_users",
        "unit": "14755",
        "observed_at": "2025-05-01T10:00:00+07:00",
        "numerator": 40,
        "denominator": 100,
    }
    event.update(over)
    return {k: v for k, v in event.items() if v is not None}
