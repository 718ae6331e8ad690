"""Reading and parsing a POST /v1/events body within the limits (never buffering beyond them).

JSON is parsed with orjson. A document with a duplicate key in an object is refused (400): parsers disagree on
which of the two counts (orjson keeps the last, others the first), so its meaning is ambiguous.
"""

import json
from collections.abc import AsyncIterator
from typing import Any

import orjson


class DuplicateKeyError(ValueError):
    """A JSON object repeats a key."""


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        duplicate = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise DuplicateKeyError(f"the key {duplicate[:64]!r} appears twice in one object")
    return obj


def check_duplicate_keys(document: bytes) -> None:
    """DuplicateKeyError if an object of `document` (valid JSON) repeats a key; RecursionError if absurdly deep."""
    json.loads(document, object_pairs_hook=_unique_pairs)


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


COMMAS_PER_EVENT = 16  # an event has at most 8 fields (7 commas) plus the one before it; the rest is slack


def count_objects(body: bytes) -> int:
    """The number of `{` in the body: at least the number of events it holds (memory speed, before parsing)."""
    return body.count(b"{")


def check_shape(body: bytes, objects: int, max_events: int) -> None:
    """413 before any parsing for a body whose JSON would be needlessly costly to parse: more `{` and `[` together
    than two per event (the event, one stray container in it) plus the wrapper and the array, or more commas than
    `max_events` events hold. Counting bytes runs at memory speed; parsing 1 MiB of `{}` costs a tenth of a second
    of the event loop. Within the bounds, an event holding a container still gets its own error."""
    containers, commas = objects + body.count(b"["), body.count(b",")
    if containers > 2 * max_events + 2:
        raise too_large(f"the body holds {containers} objects and arrays; {max_events} events hold at most "
                        f"{2 * max_events + 2}")  # fmt: skip
    if commas > COMMAS_PER_EVENT * max_events:
        raise too_large(f"the body holds {commas} commas; {max_events} events hold at most "
                        f"{COMMAS_PER_EVENT * max_events}")  # fmt: skip


def parse_events(body: bytes, max_events: int) -> list[Any]:
    """The list of raw events of a JSON array or of `{"events": [...]}`."""
    try:
        doc = orjson.loads(body)
        check_duplicate_keys(body)
    except orjson.JSONDecodeError as err:
        raise BodyError(400, "invalid_json", f"the body is not valid JSON: {err}") from None
    except DuplicateKeyError as err:
        raise BodyError(400, "duplicate_key", f"the body is ambiguous JSON: {err}") from None
    except RecursionError:
        raise BodyError(400, "invalid_json", "the body is nested too deeply") from None
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
