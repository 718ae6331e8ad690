"""The optional `period` of event schema v1: the reference period a statistic describes (docs/judgement.md)."""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from services.aggregator.decode import Decoder
from shared.contracts.events import AcceptedEvent, EventV1, reason_code, reasons
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.domain.validation import check_event

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def event(**over: Any) -> dict[str, Any]:
    base = {
        "event_id": str(uuid.uuid4()),
        "indicator": "overall.dti_rank",
        "unit": "38",
        "observed_at": "2026-06-10T09:00:00+07:00",
        "value": 8.0,
    }
    return {**base, **over}


def errors(raw: dict[str, Any], catalog: Catalog, hierarchy: Hierarchy) -> list[str]:
    try:
        parsed = EventV1.model_validate(raw, context={"now": NOW})
    except ValidationError as err:
        return reasons(err)
    return check_event(parsed, catalog, hierarchy)


# fmt: off
CASES = [
    ("A 2025 DTI rank published in June 2026 with period 2025 is accepted.", event(period="2025"), None),
    ("A yearly statistic without a period is accepted (it describes the year of its observation).", event(), None),
    ("A period that is not YYYY, YYYY-Qn or YYYY-MM is refused.", event(period="2025Q1"), "invalid_period"),
    ("A quarter for a yearly indicator does not fit it.", event(period="2025-Q4"), "invalid_period"),
    ("A period for an indicator without reference periods does not fit it.",
     event(indicator="gov.satisfaction", unit="14758", value=None, numerator=1, denominator=2, period="2026"),
     "invalid_period"),
    ("A period that has not begun is in the future.", event(period="2027"), "period_in_future"),
    ("A period that ends after the observation cannot have been observed yet.", event(period="2026"),
     "period_after_observation"),
    ("A 2024 rank of 50 fits the 63 provinces ranked up to the 2024 ranking.",
     event(period="2024", observed_at="2025-06-01T09:00:00+07:00", value=50.0), None),
    ("A 2025 rank of 50 is above the 34 provinces ranked from the 2025 ranking on.",
     event(period="2025", observed_at="2026-10-01T09:00:00+07:00", value=50.0), "out_of_range"),
    ("A rank of 40 observed in 2026 without a period is above the 34 of the 2026 ranking.", event(value=40.0),
     "out_of_range"),
]
# fmt: on


@pytest.mark.parametrize(("raw", "reason"), [pytest.param(c[1], c[2], id=c[0]) for c in CASES])
def test_period_rule(catalog: Catalog, hierarchy: Hierarchy, raw: dict[str, Any], reason: str | None) -> None:
    found = errors(raw, catalog, hierarchy)
    if reason is None:
        assert found == []
    else:
        assert [reason_code(e) for e in found] == [reason], found


def test_the_aggregator_keeps_the_period_an_event_describes_or_the_year_of_its_observation(
    catalog: Catalog, hierarchy: Hierarchy
) -> None:
    decoder = Decoder(catalog, hierarchy)
    received = {"source": "src", "received_at": "2026-11-27T12:00:00Z"}
    own = AcceptedEvent.model_validate({**event(period="2025"), **received}, context={"now": NOW})
    default = {**event(indicator="econ.digital_economy_share", value=18.5), **received}
    ratio = {**event(indicator="gov.satisfaction", unit="14758", value=None, numerator=1, denominator=2), **received}
    facts = [decoder(own.model_dump_json().encode()), decoder(AcceptedEvent(**default).model_dump_json().encode()),
             decoder(AcceptedEvent(**ratio).model_dump_json().encode())]  # fmt: skip
    assert [getattr(f, "period", f) for f in facts] == ["2025", "2026", None]
