"""The aggregator's fast decoder answers exactly as the reference (AcceptedEvent + check_applicable) on any input."""

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.aggregator.decode import Decoder, decode, fact_of
from shared.domain.catalog import load_catalog
from shared.domain.hierarchy import load_hierarchy

CATALOG, HIERARCHY = load_catalog(), load_hierarchy()
NOW = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
DECODER = Decoder(CATALOG, HIERARCHY)
FIELDS = ("event_id", "indicator", "unit", "observed_at", "numerator", "denominator", "value", "source", "received_at")

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.floats(allow_nan=False), st.text(max_size=12)
)


@st.composite
def stamps(draw: st.DrawFn) -> str:
    """RFC 3339 and near misses: separators, 0–9 fraction digits, Z/z/offsets, out-of-range fields."""
    moment = draw(st.datetimes(datetime(2019, 12, 30), datetime(2026, 11, 28), timezones=st.just(UTC)))
    offset = draw(st.sampled_from(["Z", "z", "+07:00", "-05:30", "+00:00", "+23:59", "+24:00", "+0700", ""]))
    digits = draw(st.integers(0, 9))
    sep = draw(st.sampled_from(["T", "T", "t", " "]))
    text = moment.strftime(f"%Y-%m-%d{sep}%H:%M:%S")
    if digits:
        text += "." + str(moment.microsecond).zfill(6)[:digits].ljust(digits, "7")
    if draw(st.integers(0, 20)) == 0:
        text = text.replace(":", ":6", 1)[:19] + text[19:]  # hour/minute out of range now and then
    return text + offset


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly valid events of every indicator at units in force, then mutated one or two fields at a time."""
    indicator = draw(st.sampled_from(CATALOG.indicators))
    day = draw(st.dates(date(2020, 1, 1), date(2026, 11, 27)))
    version = HIERARCHY.version_at(day)
    assert version is not None
    same_level = sorted(u.code for u in version.units.values() if u.level == indicator.reported_at)
    unit = draw(st.sampled_from(same_level or sorted(version.units)))
    at = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=draw(st.integers(0, 86399)))
    event: dict[str, Any] = {
        "event_id": str(UUID(int=draw(st.integers(0, 2**128 - 1)))),
        "indicator": indicator.code,
        "unit": unit,
        "observed_at": draw(st.one_of(st.just(at.isoformat().replace("+00:00", "Z")), stamps())),
        "source": draw(st.one_of(st.just("src"), st.text(min_size=0, max_size=70))),
        "received_at": draw(st.one_of(st.just(NOW.isoformat()), stamps())),
    }
    if indicator.measure.value == "ratio":
        den = draw(st.integers(0, 10**12 + 1))
        event.update(numerator=draw(st.integers(0, max(den, 0) + 1)), denominator=den)
    else:
        event["value"] = draw(st.one_of(st.floats(allow_nan=False), st.integers(-5, 5).map(float)))
    if draw(st.integers(0, 3)) == 0:  # an own reference period, fitting or not
        year = draw(st.integers(2019, 2027))
        event["period"] = draw(st.sampled_from([f"{year}", f"{year}-Q{draw(st.integers(1, 4))}", f"{year}-07",
                                                f"{year}-13", "2025Q1", str(year)]))  # fmt: skip
    for _ in range(draw(st.integers(0, 2))):
        mutate = draw(st.sampled_from(["drop", "extra", "replace", "upper_id", "int_value", "none"]))
        name = draw(st.sampled_from(FIELDS))
        if mutate == "drop":
            event.pop(name, None)
        elif mutate == "extra":
            event[draw(st.sampled_from(["extra", "Unit", "value", "numerator"]))] = draw(json_scalars)
        elif mutate == "replace":
            event[name] = draw(json_scalars)
        elif mutate == "upper_id" and isinstance(event.get("event_id"), str):
            event["event_id"] = event["event_id"].upper()
        elif mutate == "int_value" and isinstance(event.get("value"), float):
            event["value"] = int(event["value"]) if abs(event["value"]) < 1e18 else 1
        elif mutate == "none":
            event[name] = None
    return event


def check(raw: bytes | None) -> None:
    reference = decode(raw, CATALOG, HIERARCHY)
    expected = reference if isinstance(reference, list) else fact_of(reference, CATALOG)
    assert DECODER(raw) == expected
    fast = DECODER.fast(raw) if raw is not None else None
    if fast is not None:  # the fast path accepts only what the reference accepts, with the same fields
        assert fast == expected
        assert fast.observed_at.utcoffset() is not None and fast.received_at.utcoffset() is not None


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events())
def test_fast_decoder_agrees_with_the_reference_on_generated_events(event: dict[str, Any]) -> None:
    check(orjson.dumps(event))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=40), json_scalars.map(orjson.dumps), st.lists(json_scalars).map(orjson.dumps)))
def test_fast_decoder_agrees_with_the_reference_on_garbage(raw: bytes) -> None:
    check(raw)


@pytest.mark.parametrize(
    "event",
    [
        {"indicator": "gov.satisfaction", "numerator": 1, "denominator": 1},
        {"indicator": "gov.eid_users", "numerator": 40, "denominator": 70},
        {"indicator": "soc.communes_dx_completed", "value": 1.0},
    ],
)
def test_the_hot_shape_takes_the_fast_path(event: dict[str, Any]) -> None:
    """As the collector writes them: if this stops holding, the aggregator silently slows down."""
    message = {
        "event_id": "0b6f8f1e-5d0e-4c8a-9a43-5d1f0e2c1a77", "unit": "14758",
        "observed_at": "2026-11-27T09:15:02.123+07:00", "source": "bench", "received_at": "2026-11-27T02:15:03.000001Z",
        **event,
    }  # fmt: skip
    fast = DECODER.fast(orjson.dumps(message))
    assert fast is not None and fast.day == date(2026, 11, 27)
    check(orjson.dumps(message))


def test_poison_keeps_the_reference_reasons() -> None:
    message = orjson.dumps({"event_id": "x", "indicator": "gov.satisfaction"})
    reasons = DECODER(message)
    assert isinstance(reasons, list) and reasons == decode(message, CATALOG, HIERARCHY)
    assert any(r.startswith("missing_field: unit") for r in reasons)
