"""Corrections and retractions in the event schema (shared/contracts/events.py) and the collector's rules
(shared/domain/validation.py), and how the aggregator's decoder reads them."""

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from services.aggregator.decode import Decoder
from services.aggregator.prepare import Part, prepare
from shared.contracts.events import AcceptedEvent, EventV1, reasons
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.domain.validation import check_event

NOW = datetime(2026, 12, 2, tzinfo=UTC)
ORIGINAL = str(uuid.uuid4())


def body(**extra: Any) -> dict[str, Any]:
    base = {"event_id": str(uuid.uuid4()), "indicator": "gov.satisfaction", "unit": "14758",
            "observed_at": "2026-11-01T09:00:00+07:00"}  # fmt: skip
    return {**base, **extra}


def errors(raw: dict[str, Any]) -> list[str]:
    try:
        EventV1.model_validate(raw, context={"now": NOW})
    except ValidationError as err:
        return [r.split(":")[0] for r in reasons(err)]
    return []


def test_a_correction_is_a_full_event_and_a_retraction_has_no_measures() -> None:
    assert errors(body(corrects=ORIGINAL, numerator=1, denominator=2)) == []
    assert errors(body(retracts=ORIGINAL)) == []
    assert errors(body(corrects=ORIGINAL)) == ["wrong_measure"]  # a correction carries its measures
    assert errors(body(retracts=ORIGINAL, numerator=1, denominator=2)) == ["wrong_measure"]
    assert errors(body(retracts=ORIGINAL, period="2025")) == ["wrong_measure"]


@pytest.mark.parametrize(
    "raw",
    [
        body(corrects=ORIGINAL, retracts=ORIGINAL, numerator=1, denominator=2),
        {**body(numerator=1, denominator=2), "event_id": ORIGINAL, "corrects": ORIGINAL},
        {**body(), "event_id": ORIGINAL, "retracts": ORIGINAL},
    ],
)
def test_both_at_once_or_an_event_amending_itself_is_refused(raw: dict[str, Any]) -> None:
    assert errors(raw) == ["invalid_amendment"]


def test_a_retraction_may_name_a_unit_no_longer_in_force(catalog: Catalog, hierarchy: Hierarchy) -> None:
    district = EventV1.model_validate(body(unit="380", retracts=ORIGINAL), context={"now": NOW})  # gone since 2025-07
    assert check_event(district, catalog, hierarchy) == []
    nowhere = EventV1.model_validate(body(unit="99999", retracts=ORIGINAL), context={"now": NOW})
    assert [e.split(":")[0] for e in check_event(nowhere, catalog, hierarchy)] == ["unknown_unit"]


def test_the_decoder_sets_amendments_apart_from_the_staged_events(catalog: Catalog, hierarchy: Hierarchy) -> None:
    received = {"source": "thue", "received_at": "2026-12-01T00:00:00Z"}
    plain = {**body(numerator=1, denominator=2), **received}
    fixed = {**body(numerator=2, denominator=2, corrects=plain["event_id"]), **received}
    gone = {**body(retracts=fixed["event_id"]), **received}
    values = [orjson.dumps(v) for v in (plain, fixed, gone)]
    prepared = prepare(Decoder(catalog, hierarchy), [Part(0, [10, 11, 12], list(values))])
    assert prepared.rows == 1 and not prepared.poison
    assert [(p, o, f.corrects, f.retracts) for p, o, f in prepared.amendments] == [
        (0, 11, plain["event_id"], None),
        (0, 12, None, fixed["event_id"]),
    ]
    assert prepared.amendments[0][2].numerator == 2 and prepared.amendments[1][2].period is None


def test_operator_is_set_only_on_accepted_amendments() -> None:
    received = {"source": "thue", "received_at": "2026-12-01T00:00:00Z", "operator": "lan"}
    AcceptedEvent.model_validate({**body(retracts=ORIGINAL), **received}, context={"now": NOW})
    with pytest.raises(ValidationError, match="operator is set only"):
        AcceptedEvent.model_validate({**body(numerator=1, denominator=2), **received}, context={"now": NOW})
    assert errors({**body(retracts=ORIGINAL), "operator": "lan"}) == ["unknown_field"]  # never from a source
