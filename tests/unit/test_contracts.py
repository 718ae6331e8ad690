"""The message contracts in shared/contracts: keys, payload builders and the models that read them back."""

from datetime import UTC, datetime
from decimal import Decimal

import orjson

from shared.contracts.alerts import AlertV1, alert_from_outbox, alert_key, alert_value, parse_alert
from shared.contracts.deadletter import DeadLetterV1, deadletter_value
from shared.contracts.events import accepted_value
from shared.contracts.keys import pair_key, parse_pair_key
from shared.contracts.rollups import RollupV1, rollup_key, rollup_pair, rollup_value
from shared.contracts.topics import notify_payloads, parse_notify

WHEN = datetime(2026, 3, 1, 1, 2, 3, tzinfo=UTC)


def test_pair_key_round_trip_and_malformed_keys():
    assert pair_key("gov.satisfaction", "14758") == b"gov.satisfaction:14758"
    assert parse_pair_key(b"gov.satisfaction:14758") == ("gov.satisfaction", "14758")
    assert rollup_key("overall.dti_rank", "38") == b"overall.dti_rank:38"
    assert rollup_pair(b"overall.dti_rank:38") == ("overall.dti_rank", "38")
    for bad in (None, b"", b"no-separator", b":38", b"gov.satisfaction:"):
        assert parse_pair_key(bad) is None


def test_rollup_value_is_read_back_by_the_model():
    row = {
        "indicator": "gov.satisfaction", "unit": "38", "level": "province", "value": Decimal("87.5"),
        "numerator": Decimal("7"), "denominator": Decimal("8"), "coverage": 0.5, "reporting_children": 13,
        "children_in_force": 26, "last_observed_at": WHEN, "updated_at": None,
    }  # fmt: skip
    raw = rollup_value(row)
    doc = orjson.loads(raw)
    # integral decimals are JSON integers, others floats; times are RFC 3339 in UTC with Z
    assert doc["value"] == 87.5 and doc["numerator"] == 7 and isinstance(doc["numerator"], int)
    assert doc["last_observed_at"] == "2026-03-01T01:02:03Z" and doc["updated_at"] is None
    model = RollupV1.model_validate_json(raw)
    assert (model.indicator, model.unit, model.value, model.numerator, model.denominator) == (
        "gov.satisfaction", "38", 87.5, 7, 8,
    )  # fmt: skip
    assert model.last_observed_at == WHEN and model.coverage == 0.5


def test_alert_from_outbox_row_and_back():
    row = {
        "id": 41, "fingerprint": "ab12", "alertname": "DxTargetBehind", "labels": '{"unit": "38"}',
        "annotations": '{"summary": "chậm tiến độ"}', "from_state": None, "to_state": "firing",
        "starts_at": WHEN, "ends_at": None, "at": WHEN,
    }  # fmt: skip
    alert = alert_from_outbox(row)
    assert alert_key(alert.fingerprint) == b"ab12"
    doc = orjson.loads(alert_value(alert))
    assert doc["from"] is None and doc["state"] == "firing" and doc["labels"] == {"unit": "38"}
    assert doc["annotations"] == {"summary": "chậm tiến độ"}
    assert parse_alert(alert_value(alert)) == alert
    assert AlertV1.model_validate(doc).at == WHEN


def test_notify_payload_round_trip_in_chunks():
    pairs = {(f"gov.i{i:03d}", "38") for i in range(250)}
    payloads = notify_payloads(pairs)
    assert len(payloads) == 3 and payloads[0].splitlines()[0] == "gov.i000\t38"
    assert set().union(*(parse_notify(p) for p in payloads)) == pairs


def test_deadletter_value_matches_its_model():
    raw = deadletter_value(
        ["unknown_unit: unit: 999 is not a unit"], service="aggregator", topic="dx.events.v1", partition=2,
        offset=7, original=b"x" * 10, now=WHEN, max_original=4,
    )  # fmt: skip
    model = DeadLetterV1.model_validate_json(raw)
    assert model.original is None and model.original_truncated and model.original_size == 10
    assert model.original_b64 == "eHh4eA==" and model.source_offset == 7


def test_accepted_value_adds_source_and_received_at():
    raw = {"event_id": "e", "indicator": "gov.x", "unit": "38"}
    assert orjson.loads(accepted_value(raw, "portal", "2026-03-01T01:02:03Z")) == {
        **raw, "source": "portal", "received_at": "2026-03-01T01:02:03Z",
    }  # fmt: skip


def test_a_pending_transition_has_no_starts_at_yet():
    """A pending alert has not reached Alertmanager: the outbox row's starts_at is null (this broke publishing)."""
    row = {
        "id": 1, "fingerprint": "cd34", "alertname": "DxTargetMissed", "labels": "{}", "annotations": "{}",
        "from_state": "inactive", "to_state": "pending", "starts_at": None, "ends_at": None, "at": WHEN,
    }  # fmt: skip
    alert = alert_from_outbox(row)
    assert alert.starts_at is None and orjson.loads(alert_value(alert))["starts_at"] is None
