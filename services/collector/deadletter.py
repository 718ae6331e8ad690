"""Dead-letter records (brief's contract): the reason, where the message came from, and the original bytes.

An original longer than `max_original` bytes is cut to that length (a record holding it whole, plus its base64,
could exceed Kafka's message size): then `original` is null, `original_b64` holds the first bytes, and
`original_truncated` / `original_size` say so.
"""

import base64
from datetime import datetime
from typing import Any

import orjson

from services.collector.intake import Record, rfc3339
from shared import names
from shared.domain.events import reason_code


def deadletter_record(
    *,
    key: bytes | None,
    value: bytes | None,
    topic: str,
    partition: int,
    offset: int,
    errors: list[str],
    now: datetime,
    max_original: int,
) -> Record:
    raw = value or b""
    truncated = len(raw) > max_original
    kept = raw[:max_original]
    doc: dict[str, Any] = {
        "reason": errors[0],
        "reasons": errors,
        "source_topic": topic,
        "source_partition": partition,
        "source_offset": offset,
        "service": "collector",
        "dead_lettered_at": rfc3339(now),
        "original": None if truncated else _utf8(kept),
        "original_b64": base64.b64encode(kept).decode(),
    }
    if truncated:
        doc.update(original_truncated=True, original_size=len(raw))
    return Record(key, orjson.dumps(doc), ((names.DLQ_REASON_HEADER, reason_code(errors[0]).encode()),))


def _utf8(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
