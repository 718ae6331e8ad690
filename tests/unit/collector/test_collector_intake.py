"""Validation of a batch: what is published for a valid event, and one case per rejection reason."""

from datetime import UTC, datetime

import orjson
import pytest

from services.collector.intake import Intake
from shared.domain.validation import Scope
from tests.support.events import ratio_event as ratio

NOW = datetime(2025, 5, 2, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def intake(catalog, hierarchy):
    return Intake(catalog, hierarchy)


def test_a_valid_event_is_published_as_sent_plus_source_and_received_at(intake):
    event = ratio()
    checked = intake.check_batch([event], "portal", Scope(), NOW)
    assert checked.rejected == []
    [record] = checked.records
    assert record.key == b"gov.eid_users:14755"
    assert orjson.loads(record.value) == {**event, "source": "portal", "received_at": "2025-05-02T03:00:00Z"}
    assert list(orjson.loads(record.value))[:6] == list(event)


@pytest.mark.parametrize(
    ("event", "reason", "text"),
    [
        (ratio(event_id="nope"), "invalid_field", "event_id"),
        (ratio(indicator=None), "missing_field", "indicator"),
        (ratio(extra=1), "unknown_field", "extra"),
        (ratio(source="me"), "unknown_field", "source"),
        (ratio(observed_at="2025-05-01 10:00"), "invalid_timestamp", "observed_at"),
        (ratio(observed_at="2030-01-01T00:00:00Z"), "observed_in_future", "future"),
        (ratio(observed_at="2019-12-31T00:00:00+07:00"), "observed_too_old", "2020-01-01"),
        (ratio(numerator=101), "out_of_range", "numerator must not exceed denominator"),
        (ratio(denominator=None), "wrong_measure", "go together"),
        (ratio(indicator="gov.nothing"), "unknown_indicator", "not in the catalog"),
        (ratio(unit="99999"), "unknown_unit", "does not exist"),
        (ratio(unit="14788"), "unit_not_in_force", "not in force on 2025-05-01"),
        (ratio(unit="380"), "wrong_level", "reported per commune"),
        (ratio(numerator=None, denominator=None, value=4.0), "wrong_measure", "is a ratio"),
        (ratio(numerator="40"), "invalid_field", "numerator"),
        ("not an object", "invalid_field", "event"),
    ],
)
def test_each_rejection_reason_is_reported_with_its_code(intake, event, reason, text):
    checked = intake.check_batch([event], "portal", Scope(), NOW)
    assert checked.records == []
    [rejection] = checked.rejected
    assert rejection.index == 0
    assert rejection.reason == reason, rejection.errors
    assert text in rejection.errors[0]


def test_a_value_over_the_indicator_maximum_is_out_of_range(intake):
    event = ratio(indicator="econ.digital_economy_share", unit="38", numerator=None, denominator=None, value=120.0)
    [rejection] = intake.check_batch([event], "portal", Scope(), NOW).rejected
    assert rejection.errors == ["out_of_range: value: 120 is above the maximum 100 of econ.digital_economy_share"]


def test_the_event_id_is_echoed_when_readable_and_null_otherwise(intake):
    checked = intake.check_batch([ratio(event_id="nope", unit="1"), ratio(event_id=7), [1]], "p", Scope(), NOW)
    assert [(r.index, r.event_id) for r in checked.rejected] == [(0, "nope"), (1, None), (2, None)]


def test_a_mixed_batch_rejects_exactly_the_bad_indices(intake):
    batch = [ratio(), ratio(unit="99999"), ratio(), ratio(numerator=-1), ratio()]
    checked = intake.check_batch(batch, "portal", Scope(), NOW)
    assert len(checked.records) == 3
    assert [r.index for r in checked.rejected] == [1, 3]


def test_a_district_scope_covers_its_communes_only(intake):
    scope = Scope(units=frozenset({"380"}))
    inside = ratio(unit="14758")  # a ward of Thanh Hóa city (380) on 2025-05-01
    other = ratio(unit="14809")  # a commune of Bỉm Sơn (381)
    checked = intake.check_batch([inside, other], "city", scope, NOW)
    assert len(checked.records) == 1
    assert checked.rejected[0].errors == ["forbidden: unit: this source may not write unit 14809"]


def test_an_indicator_scope_forbids_other_indicators(intake):
    scope = Scope(indicators=frozenset({"gov.satisfaction"}))
    [rejection] = intake.check_batch([ratio()], "survey", scope, NOW).rejected
    assert rejection.errors == ["forbidden: indicator: this source may not write gov.eid_users"]
