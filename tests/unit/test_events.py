"""Every accept and reject rule of event schema v1 (docs/events-and-topics.md), with and without the catalog."""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from shared.contracts.events import AcceptedEvent, EventV1, reason_code, reasons
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.domain.validation import Scope, check_event, check_scope

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def ratio(**over: Any) -> dict[str, Any]:
    base = {
        "event_id": str(uuid.uuid4()),
        "indicator": "gov.satisfaction",
        "unit": "14758",
        "observed_at": "2026-11-01T09:30:00+07:00",
        "numerator": 9,
        "denominator": 10,
    }
    return {**base, **over}


def value(**over: Any) -> dict[str, Any]:
    base = {
        "event_id": str(uuid.uuid4()),
        "indicator": "econ.digital_economy_share",
        "unit": "38",
        "observed_at": "2025-12-31T00:00:00+07:00",
        "value": 18.5,
    }
    return {**base, **over}


def schema_errors(raw: dict[str, Any]) -> list[str]:
    try:
        EventV1.model_validate(raw, context={"now": NOW})
    except ValidationError as err:
        return [reason_code(r) for r in reasons(err)]
    return []


def all_errors(raw: dict[str, Any], catalog: Catalog, hierarchy: Hierarchy) -> list[str]:
    found = schema_errors(raw)
    if found:
        return found
    return [reason_code(e) for e in check_event(EventV1.model_validate(raw, context={"now": NOW}), catalog, hierarchy)]


@pytest.mark.parametrize(
    "raw",
    [
        ratio(),
        value(),
        ratio(observed_at="2026-11-27T12:04:00Z"),
        ratio(numerator=0),
        ratio(numerator=10),
        value(value=0),
        ratio(observed_at="2020-01-01T00:00:00+07:00"),
        value(value=30),
    ],
)
def test_a_well_formed_event_is_accepted(raw: dict[str, Any], catalog: Catalog, hierarchy: Hierarchy) -> None:
    assert all_errors(raw, catalog, hierarchy) == []


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ({k: v for k, v in ratio().items() if k != "event_id"}, "missing_field"),
        (ratio(event_id="not-a-uuid"), "invalid_field"),
        (ratio(source="spoofed"), "unknown_field"),
        (ratio(extra=1), "unknown_field"),
        (ratio(observed_at="2026-11-01T09:30:00"), "invalid_timestamp"),
        (ratio(observed_at="2026-11-01"), "invalid_timestamp"),
        (ratio(observed_at=1700000000), "invalid_timestamp"),
        (ratio(observed_at="2026-11-27T12:06:00Z"), "observed_in_future"),
        (ratio(observed_at="2019-12-31T23:59:59+07:00"), "observed_too_old"),
        (ratio(numerator=11), "out_of_range"),
        (ratio(numerator=-1), "out_of_range"),
        (ratio(denominator=0), "out_of_range"),
        (ratio(numerator=1.5), "invalid_field"),
        (ratio(numerator="9"), "invalid_field"),
        (ratio(numerator=True), "invalid_field"),
        ({k: v for k, v in ratio().items() if k != "denominator"}, "wrong_measure"),
        (ratio(value=1.0), "wrong_measure"),
        (value(value=float("nan")), "invalid_field"),
        (value(value=float("inf")), "invalid_field"),
        (value(value="18.5"), "invalid_field"),
        (ratio(unit="３８"), "invalid_field"),
        (ratio(unit="38 "), "invalid_field"),
        (ratio(indicator="GOV.satisfaction"), "invalid_field"),
        (ratio(indicator="gov.satisfaction'; DROP TABLE events;--"), "invalid_field"),
    ],
)
def test_a_schema_violation_is_rejected_with_its_reason(raw: dict[str, Any], reason: str) -> None:
    assert reason in schema_errors(raw)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (ratio(indicator="gov.unknown"), "unknown_indicator"),
        (value(indicator="gov.satisfaction", unit="14758"), "wrong_measure"),
        (ratio(indicator="econ.digital_economy_share", unit="38"), "wrong_measure"),
        (value(value=100.5), "out_of_range"),
        (value(indicator="soc.communes_dx_completed", unit="14758", value=-1), "out_of_range"),
        (value(indicator="soc.communes_dx_completed", unit="14758", value=0.5), "out_of_range"),
        (value(indicator="overall.dti_rank", value=0), "out_of_range"),
        (ratio(unit="99999"), "unknown_unit"),
        (
            ratio(unit="405", indicator="gov.satisfaction", observed_at="2025-03-02T08:00:00+07:00"),
            "unit_not_in_force",
        ),
        (ratio(unit="380"), "unit_not_in_force"),
        (ratio(unit="380", observed_at="2024-05-01T08:00:00+07:00"), "wrong_level"),
        (ratio(unit="38"), "wrong_level"),
        (value(unit="14758"), "wrong_level"),
    ],
)
def test_a_catalog_or_hierarchy_violation_is_rejected_with_its_reason(
    raw: dict[str, Any], reason: str, catalog: Catalog, hierarchy: Hierarchy
) -> None:
    assert reason in all_errors(raw, catalog, hierarchy)


def test_the_unit_is_resolved_at_the_local_date_of_observed_at(catalog: Catalog, hierarchy: Hierarchy) -> None:
    # 2024-12-31T17:30Z is already 2025-01-01 in Thanh Hóa: Đông Sơn (405) no longer exists.
    raw = ratio(unit="16381", observed_at="2024-12-31T17:30:00Z")
    event = EventV1.model_validate(raw, context={"now": NOW})
    assert check_event(event, catalog, hierarchy) == []
    assert check_scope(event, Scope(units=frozenset({"405"})), hierarchy) is not None
    assert check_scope(event, Scope(units=frozenset({"380"})), hierarchy) is None


def test_scope_rejects_other_indicators_and_other_units_as_forbidden(hierarchy: Hierarchy) -> None:
    event = EventV1.model_validate(ratio(unit="16381", observed_at="2024-06-01T08:00:00+07:00"), context={"now": NOW})
    assert check_scope(event, Scope(), hierarchy) is None
    assert check_scope(event, Scope(units=frozenset({"405"})), hierarchy) is None
    assert check_scope(event, Scope(units=frozenset({"38"})), hierarchy) is None
    assert reason_code(check_scope(event, Scope(units=frozenset({"380"})), hierarchy) or "") == "forbidden"
    denied = check_scope(event, Scope(indicators=frozenset({"gov.eid_users"})), hierarchy)
    assert reason_code(denied or "") == "forbidden"


def test_an_accepted_event_carries_source_and_received_at() -> None:
    raw = {**ratio(), "source": "portal", "received_at": "2026-11-27T12:00:00Z"}
    event = AcceptedEvent.model_validate(raw, context={"now": NOW})
    assert (event.source, event.key) == ("portal", b"gov.satisfaction:14758")
