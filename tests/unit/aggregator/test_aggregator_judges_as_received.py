"""What the collector acknowledged, the aggregator applies: time rules against `received_at`, not the aggregator's
clock; a catalog edit after the acceptance does not turn an accepted value into poison."""

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from services.aggregator.decode import Decoder, Fact, decode
from services.collector.intake import Intake
from shared.contracts.events import AcceptedEvent
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.domain.timeutil import rfc3339
from shared.domain.validation import Scope
from tests.support.edited_catalog import catalog_without, edited_catalog

COLLECTOR_NOW = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
BEHIND = timedelta(seconds=90)  # the aggregator's clock is 90 s behind the collector's


def accepted(intake: Intake, event: dict[str, Any], now: datetime = COLLECTOR_NOW) -> bytes:
    """The dx.events.v1 value the collector publishes for `event` when its clock reads `now`."""
    checked = intake.check_batch([event], "portal", Scope(), now)
    assert checked.rejected == [], checked.rejected
    return checked.records[0].value


def ratio(observed_at: datetime, **extra: Any) -> dict[str, Any]:
    return {"event_id": "0b6f8f1e-5d0e-4c8a-9a43-5d1f0e2c1a77", "indicator": "gov.satisfaction", "unit": "14758",
            "observed_at": rfc3339(observed_at), "numerator": 7, "denominator": 10, **extra}  # fmt: skip


def test_an_event_four_minutes_ahead_of_the_collector_clock_is_a_fact(catalog: Catalog, hierarchy: Hierarchy) -> None:
    value = accepted(Intake(catalog, hierarchy), ratio(COLLECTOR_NOW + timedelta(minutes=4)))
    decoder = Decoder(catalog, hierarchy)
    fact = decoder(value)
    assert isinstance(fact, Fact) and fact.observed_at == COLLECTOR_NOW + timedelta(minutes=4)
    assert decoder.fast(value) == fact  # the hot path agrees
    reference = decode(value, catalog, hierarchy)
    assert isinstance(reference, AcceptedEvent) and reference.received_at == COLLECTOR_NOW


def test_the_aggregator_clock_does_not_matter_at_all(catalog: Catalog, hierarchy: Hierarchy) -> None:
    """The same bytes give the same answer whatever the time of this process (a backlog drained a year later)."""
    value = accepted(Intake(catalog, hierarchy), ratio(COLLECTOR_NOW + timedelta(minutes=4, seconds=59)))
    behind = COLLECTOR_NOW - BEHIND  # an aggregator 90 s behind the collector, passing its own clock
    assert isinstance(AcceptedEvent.model_validate_json(value, context={"now": behind}), AcceptedEvent)
    assert isinstance(Decoder(catalog, hierarchy)(value), Fact)


def test_an_observation_after_its_received_at_plus_the_skew_is_still_in_the_future(
    catalog: Catalog, hierarchy: Hierarchy
) -> None:
    """The rule still bites: an event on dx.events.v1 whose observation is more than 5 minutes after the time the
    collector received it was never acknowledged by a collector (it is forged or corrupt)."""
    value = orjson.loads(accepted(Intake(catalog, hierarchy), ratio(COLLECTOR_NOW + timedelta(minutes=1))))
    forged = orjson.dumps({**value, "received_at": rfc3339(COLLECTOR_NOW - timedelta(minutes=4, seconds=1))})
    for answer in (Decoder(catalog, hierarchy)(forged), decode(forged, catalog, hierarchy)):
        assert isinstance(answer, list) and answer[0].startswith("observed_in_future: "), answer


@pytest.mark.parametrize(
    ("edit", "event"),
    [
        pytest.param(("econ.labour_productivity_growth", "max = 100.0", "max = 10.0"),
                     {"indicator": "econ.labour_productivity_growth", "unit": "38", "value": 12.5, "period": "2025"},
                     id="maximum-lowered"),
        pytest.param(("econ.labour_productivity_growth", "min = -100.0", "min = 0.0"),
                     {"indicator": "econ.labour_productivity_growth", "unit": "38", "value": -3.0, "period": "2025"},
                     id="minimum-raised"),
        pytest.param(("econ.digital_economy_share", "max = 100.0", "max = 100.0\ninteger = true"),
                     {"indicator": "econ.digital_economy_share", "unit": "38", "value": 18.5, "period": "2025"},
                     id="whole-numbers-only"),
    ],
)  # fmt: skip
def test_a_catalog_edit_after_acceptance_does_not_make_the_event_poison(
    catalog: Catalog, hierarchy: Hierarchy, edit: tuple[str, str, str], event: dict[str, Any]
) -> None:
    body = {"event_id": "1b6f8f1e-5d0e-4c8a-9a43-5d1f0e2c1a77", "observed_at": "2026-11-20T09:00:00+07:00", **event}
    value = accepted(Intake(catalog, hierarchy), body)
    edited = edited_catalog(*edit)
    assert Intake(edited, hierarchy).errors(body, Scope(), COLLECTOR_NOW)[0].startswith("out_of_range: ")
    fact = Decoder(edited, hierarchy)(value)
    assert isinstance(fact, Fact) and fact.value == event["value"] and fact.period == "2025"


def test_what_the_aggregator_cannot_apply_is_still_poison(catalog: Catalog, hierarchy: Hierarchy) -> None:
    """An accepted event of an indicator the aggregator's catalog no longer has: nothing to roll it up by."""
    value = accepted(Intake(catalog, hierarchy), ratio(COLLECTOR_NOW))
    answer = Decoder(catalog_without("gov.satisfaction"), hierarchy)(value)
    assert isinstance(answer, list) and answer[0].startswith("unknown_indicator: "), answer
