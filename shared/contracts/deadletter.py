"""Dead-letter records (dx.deadletter.v1): the reason, where the message came from, and the original bytes.

One format for every service that dead-letters (collector, aggregator). An original longer than `max_original`
bytes is cut to that length (a record holding it whole, plus its base64, could exceed Kafka's message size):
then `original` is null, `original_b64` holds the first bytes, and `original_truncated` / `original_size` say so.
The original's headers are kept (up to `max_original` bytes of them, else `headers_truncated`), and `source` is the
source that was authenticated when the message arrived (null: none was).
"""

import base64
from datetime import datetime
from typing import Any

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.contracts.events import reason_code
from shared.contracts.topics import DLQ_REASON_HEADER
from shared.domain.timeutil import rfc3339

DEFAULT_MAX_ORIGINAL = 64 * 1024


class DeadLetterHeader(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    key: str
    value_b64: str = Field(description="the header's bytes, base64")


class DeadLetterV1(BaseModel):
    """A dead-letter record's value. Key: the original message's key. Header `dx-reason`: the first reason's code."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    reason: str = Field(description="the first error, `code: field: message`")
    reasons: list[str] = Field(description="every error found")
    source_topic: str = Field(description="dx.ingest.v1 or dx.events.v1")
    source_partition: int
    source_offset: int
    service: str = Field(description="collector or aggregator")
    dead_lettered_at: AwareDatetime
    original: str | None = Field(description="the original bytes as UTF-8; null if not UTF-8 or truncated")
    original_b64: str = Field(description="the original bytes (or their first max_original bytes), base64")
    original_truncated: bool = False
    original_size: int | None = Field(None, description="length of the original when truncated")
    source: str | None = Field(None, description="the source authenticated on arrival; null: none was")
    headers: list[DeadLetterHeader] = Field(default_factory=list, description="the original's headers, in order")
    headers_truncated: bool = False


def deadletter_value(
    errors: list[str],
    *,
    service: str,
    topic: str,
    partition: int,
    offset: int,
    original: bytes | None,
    now: datetime,
    max_original: int = DEFAULT_MAX_ORIGINAL,
    source: str | None = None,
    headers: list[tuple[str, bytes]] | None = None,
) -> bytes:
    """The record's value: JSON with the reasons, the original message, its headers and its authenticated source."""
    raw = original or b""
    truncated = len(raw) > max_original
    kept = raw[:max_original]
    doc: dict[str, Any] = {
        "reason": errors[0],
        "reasons": errors,
        "source_topic": topic,
        "source_partition": partition,
        "source_offset": offset,
        "service": service,
        "dead_lettered_at": rfc3339(now),
        "original": None if truncated or original is None else _utf8(kept),
        "original_b64": base64.b64encode(kept).decode("ascii"),
    }
    if truncated:
        doc.update(original_truncated=True, original_size=len(raw))
    kept_headers, budget = [], max_original
    for key, value in headers or ():
        budget -= len(key) + len(value or b"")
        if budget < 0:
            doc["headers_truncated"] = True
            break
        kept_headers.append({"key": key, "value_b64": base64.b64encode(value or b"").decode("ascii")})
    doc.update(source=source, headers=kept_headers)
    return orjson.dumps(doc)


def deadletter_headers(errors: list[str]) -> list[tuple[str, bytes]]:
    """`dx-reason`: the reason code of the first error, for consumers that filter without parsing."""
    return [(DLQ_REASON_HEADER, reason_code(errors[0]).encode())]


def _utf8(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
