"""Request bodies within limits, and the per-source token bucket."""

import orjson
import pytest

from services.collector.body import (
    BodyError,
    check_content_length,
    check_shape,
    count_objects,
    parse_events,
    read_limited,
)
from services.collector.ratelimit import RateLimiter
from tests.support.events import ratio_event


async def chunks(consumed: list[int], size: int, count: int):
    for _ in range(count):
        consumed.append(size)
        yield b"x" * size


async def test_reading_stops_as_soon_as_the_limit_is_passed():
    consumed: list[int] = []
    with pytest.raises(BodyError) as err:
        await read_limited(chunks(consumed, 1000, 100), limit=2500)
    assert err.value.status == 413
    assert len(consumed) == 3  # the 4th..100th chunks were never pulled


async def test_a_body_at_the_limit_is_read_whole():
    assert await read_limited(chunks([], 1000, 3), limit=3000) == b"x" * 3000


def test_a_declared_length_over_the_limit_is_413_and_a_bad_one_400():
    check_content_length(None, 10)
    check_content_length("10", 10)
    with pytest.raises(BodyError) as err:
        check_content_length("11", 10)
    assert err.value.status == 413
    with pytest.raises(BodyError) as err:
        check_content_length("ten", 10)
    assert err.value.status == 400


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b"{not json", 400, "invalid_json"),
        (b'{"event": []}', 400, "invalid_body"),
        (b'{"events": [], "more": 1}', 400, "invalid_body"),
        (b'"text"', 400, "invalid_body"),
        (b"[]", 400, "invalid_body"),
        (b"[" + b",".join([b"{}"] * 4) + b"]", 413, "too_large"),
    ],
)
def test_bodies_that_are_not_a_batch_are_refused_with_a_reason(body, status, error):
    with pytest.raises(BodyError) as err:
        parse_events(body, max_events=3)
    assert (err.value.status, err.value.error) == (status, error)
    assert err.value.message


def test_both_body_shapes_give_the_events():
    assert parse_events(b'[{"a": 1}]', 3) == [{"a": 1}]
    assert parse_events(b'{"events": [{"a": 1}, {"b": 2}]}', 3) == [{"a": 1}, {"b": 2}]


def test_duplicate_keys_are_refused_as_ambiguous():
    """Parsers disagree on which of two equal keys counts: the body is refused, not read one way."""
    with pytest.raises(BodyError) as err:
        parse_events(b'[{"a": 1, "b": {"c": 1, "c": 2}}]', 3)
    assert (err.value.status, err.value.error) == (400, "duplicate_key")
    assert "'c' appears twice" in err.value.message


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_bucket_allows_a_burst_then_refills_at_the_rate():
    clock = Clock()
    limiter = RateLimiter(rate=10, burst=20, clock=clock)
    assert limiter.take("a", 20) == 0
    assert limiter.take("a", 5) == pytest.approx(0.5)
    assert limiter.take("b", 20) == 0  # buckets are per source
    clock.now += 0.5
    assert limiter.take("a", 5) == 0
    assert limiter.take("a", 1) == pytest.approx(0.1)
    clock.now += 100
    assert limiter.take("a", 20) == 0  # never more than the burst
    assert limiter.take("a", 1) > 0


def test_retry_after_is_whole_seconds_at_least_one():
    assert RateLimiter.retry_after(0.01) == "1"
    assert RateLimiter.retry_after(2.2) == "3"


def _shape(body: bytes, max_events: int = 1000) -> None:
    check_shape(body, count_objects(body), max_events)


def test_a_full_batch_passes_the_shape_bounds_before_parsing():
    events = [ratio_event(period="2025", value=1.5) for _ in range(1000)]  # every field of an event, 1,000 times
    _shape(orjson.dumps(events))
    _shape(orjson.dumps({"events": events}))
    assert count_objects(orjson.dumps({"events": events})) == 1001
    _shape(orjson.dumps([{**e, "extra": [1]} for e in events]))  # one stray container per event: each its own error


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"[" + b",".join([b"{}"] * 2002) + b"]", "2003 objects and arrays"),
        (b'{"events": [' + b",".join([b'{"x": []}'] * 1001) + b"]}", "2004 objects and arrays"),
        (b"[" * 2003 + b"]" * 2003, "2003 objects and arrays"),
        (b"[" + b",".join([b"1"] * 16_002) + b"]", "16001 commas"),
    ],
)
def test_a_body_over_the_shape_bounds_is_413_before_parsing(body: bytes, said: str):
    with pytest.raises(BodyError) as err:
        _shape(body)
    assert err.value.status == 413 and said in err.value.message


def test_tokens_spent_ahead_are_given_back_up_to_the_burst():
    limiter = RateLimiter(rate=1.0, burst=10.0, clock=lambda: 0.0)
    assert limiter.take("s", 8) == 0.0
    limiter.give_back("s", 5)
    assert limiter.take("s", 7) == 0.0 and limiter.take("s", 1) > 0
    limiter.give_back("s", 100)
    assert limiter.take("s", 10) == 0.0 and limiter.take("s", 1) > 0
