"""Property tests of the event schema (pure): whatever the input, EventV1 either accepts it or raises a
ValidationError whose reasons are `code: field: message` with a known code; accepted events obey every rule."""

import re
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.contracts.events import EARLIEST_OBSERVATION, MAX_CLOCK_SKEW, MAX_COUNT, EventV1, reasons

CODES = {"missing_field", "unknown_field", "out_of_range", "invalid_field", "invalid_timestamp", "wrong_measure",
         "observed_in_future", "observed_too_old", "invalid_period", "period_in_future"}  # fmt: skip
NOW = datetime(2026, 1, 1, tzinfo=UTC)
TEXT = st.text(st.characters(codec="utf-8"), max_size=40)
SCALAR = st.none() | st.booleans() | st.integers() | st.floats() | TEXT
JSON = st.recursive(SCALAR, lambda c: st.lists(c, max_size=3) | st.dictionaries(TEXT, c, max_size=3), max_leaves=8)
FIELDS = ["event_id", "indicator", "unit", "observed_at", "numerator", "denominator", "value", "period"]
PLAUSIBLE = {
    "event_id": st.uuids().map(str) | TEXT,
    "indicator": st.from_regex(r"[a-z]{1,16}\.[a-z0-9_]{1,48}", fullmatch=True) | TEXT,
    "unit": st.from_regex(r"[0-9]{2,6}", fullmatch=True) | TEXT,
    "observed_at": st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()) | TEXT,
    "numerator": st.integers(-5, 2 * MAX_COUNT) | SCALAR,
    "denominator": st.integers(-5, 2 * MAX_COUNT) | SCALAR,
    "value": st.floats() | SCALAR,
    "period": st.from_regex(r"20[0-9]{2}(-Q[0-5]|-[01][0-9])?", fullmatch=True) | SCALAR,
}
EVENTS = st.fixed_dictionaries({}, optional={f: PLAUSIBLE[f] for f in FIELDS}) | st.dictionaries(TEXT, JSON)


def _outcome(raw: Any) -> EventV1 | list[str]:
    try:
        return EventV1.model_validate(raw, context={"now": NOW})
    except ValidationError as err:
        return reasons(err)


@settings(max_examples=800, deadline=None)
@given(raw=JSON | EVENTS)
def test_any_input_is_an_event_or_reasons_with_a_known_code(raw: Any) -> None:
    outcome = _outcome(raw)
    if isinstance(outcome, list):
        assert outcome
        for reason in outcome:
            assert re.match(r"^[a-z_]+: .+: .+", reason, re.DOTALL), reason
            assert reason.split(":", 1)[0] in CODES, reason
        return
    event = outcome
    assert (event.value is None) != (event.numerator is None)
    if event.numerator is not None:
        assert event.denominator is not None and 0 <= event.numerator <= event.denominator <= MAX_COUNT
        assert event.denominator > 0
    if event.value is not None:
        assert event.value == event.value and abs(event.value) != float("inf")  # no NaN, no infinity
    assert re.fullmatch(r"[0-9]{2,6}", event.unit, re.ASCII)
    assert re.fullmatch(r"[a-z]{1,16}\.[a-z0-9_]{1,48}", event.indicator, re.ASCII)
    assert EARLIEST_OBSERVATION <= event.observed_at <= NOW + MAX_CLOCK_SKEW


@given(unit=st.text(st.characters(codec="utf-8"), min_size=2, max_size=6).filter(lambda u: not u.isascii()))
def test_non_ascii_look_alikes_of_codes_are_refused(unit: str) -> None:
    raw = {"event_id": "3fbdd464-4cb6-4930-9723-fb5129dff8d2", "indicator": "gov.eid_users", "unit": unit,
           "observed_at": "2025-05-01T10:00:00+07:00", "numerator": 1, "denominator": 2}  # fmt: skip
    assert isinstance(_outcome(raw), list)
    assert isinstance(_outcome({**raw, "unit": "14755", "indicator": f"gov.{unit}"}), list)
