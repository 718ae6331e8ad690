"""Reading and parsing a POST /v1/events body within the limits (never buffering beyond them).

JSON is parsed with orjson. Duplicate keys in an object are not detected (orjson keeps the last one):
documented behaviour; hostile-input hardening is a later issue.
"""

from collections.abc import AsyncIterator
from typing import Any

import orjson


class BodyError(Exception):
    """A request the collector answers without looking at its events; `status` is the HTTP status."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message

    def as_json(self) -> dict[str, Any]:
        return {"error": self.error, "message": self.message}


def check_content_length(header: str | None, limit: int) -> None:
    """413 at once when the declared length is over the limit (the body is then never read)."""
    if header is None:
        return
    if not header.isdigit():
        raise BodyError(400, "invalid_body", "Content-Length is not a number")
    if int(header) > limit:
        raise too_large(f"the body is {int(header)} bytes; the limit is {limit}")


async def read_limited(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """The whole body, or 413 as soon as more than `limit` bytes have arrived."""
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise too_large(f"the body is over the limit of {limit} bytes")
    return bytes(body)


def parse_events(body: bytes, max_events: int) -> list[Any]:
    """The list of raw events of a JSON array or of `{"events": [...]}`."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise BodyError(400, "invalid_json", f"the body is not valid JSON: {err}") from None
    if isinstance(doc, dict) and list(doc) == ["events"]:
        doc = doc["events"]
    if not isinstance(doc, list):
        raise BodyError(400, "invalid_body", 'the body must be a JSON array of events or {"events": [...]}')
    if not doc:
        raise BodyError(400, "invalid_body", "the batch holds no events")
    if len(doc) > max_events:
        raise too_large(f"the batch holds {len(doc)} events; the limit is {max_events}")
    return doc


def too_large(message: str) -> BodyError:
    return BodyError(413, "too_large", message)
