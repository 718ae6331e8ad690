"""Mapping records to events (dotted paths, the import format's checks, deterministic ids) and schedule ticks."""

from datetime import UTC, datetime

import pytest

from services.pull.config import Mapping, Schedule
from services.pull.mapping import PathError, map_record, pick, record_event_id
from services.pull.schedule import backoff, current_tick, interval_seconds
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
MAPPING = Mapping(
    constants={"indicator": "gov.level4_procedures_online"},
    fields={"unit": "don_vi.ma", "observed_at": "ngay", "numerator": "so.0", "denominator": "so.1"},
)


def test_dotted_paths_reach_into_objects_and_lists() -> None:
    record = {"a": {"b": [10, {"c": "x"}]}}
    assert pick(record, "a.b.1.c") == "x" and pick(record, "a.b.-2") == 10 and pick(record, "") == record
    with pytest.raises(PathError):
        pick(record, "a.b.5")


def test_a_record_becomes_an_event_with_an_id_of_the_connector_and_the_record(
    catalog: Catalog, hierarchy: Hierarchy
) -> None:
    record = {"don_vi": {"ma": "14758"}, "ngay": "2026-11-30", "so": [120, 400]}
    mapped = map_record("portal", MAPPING, 1, record, catalog, hierarchy, NOW)
    assert mapped.errors == [] and mapped.event is not None
    assert mapped.event["unit"] == "14758" and mapped.event["numerator"] == 120
    assert mapped.event["observed_at"] == "2026-11-30T00:00:00+07:00"
    again = map_record("portal", MAPPING, 7, dict(record), catalog, hierarchy, NOW)
    assert again.event is not None and again.event["event_id"] == mapped.event["event_id"]
    other = map_record("portal-2", MAPPING, 1, record, catalog, hierarchy, NOW)
    assert other.event is not None and other.event["event_id"] != mapped.event["event_id"]
    changed = {**record, "so": [121, 400]}
    assert record_event_id("portal", MAPPING, changed) != mapped.event["event_id"]
    by_key = Mapping(**{**MAPPING.model_dump(), "identity": ["don_vi.ma", "ngay"]})
    assert record_event_id("portal", by_key, changed) == record_event_id("portal", by_key, record)


def test_a_bad_record_gets_every_reason_and_no_event(catalog: Catalog, hierarchy: Hierarchy) -> None:
    missing = map_record("portal", MAPPING, 3, {"ngay": "2026-11-30", "so": [1, 2]}, catalog, hierarchy, NOW)
    assert missing.event is None and [(e.row, e.field) for e in missing.errors] == [(3, "unit")]
    assert missing.errors[0].reason.startswith("missing_field: ")
    record = {"don_vi": {"ma": "14755"}, "ngay": "2026-11-30", "so": [120, 400]}  # merged away in July 2025
    gone = map_record("portal", MAPPING, 4, record, catalog, hierarchy, NOW)
    assert gone.event is None and gone.errors[0].reason.startswith("unit_not_in_force: ")
    assert b'"14755"' in gone.original


def test_ticks_are_the_same_in_every_process_and_cron_includes_the_exact_minute() -> None:
    assert current_tick(Schedule(every="5m"), datetime(2026, 12, 1, 3, 7, 12, tzinfo=UTC)) == datetime(
        2026, 12, 1, 3, 5, tzinfo=UTC
    )
    cron = Schedule(cron="0 6 * * *")
    assert current_tick(cron, datetime(2026, 12, 1, 6, 0, tzinfo=UTC)) == datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    assert current_tick(cron, datetime(2026, 12, 1, 5, 59, 59, tzinfo=UTC)) == datetime(2026, 11, 30, 6, tzinfo=UTC)
    assert interval_seconds(cron, NOW) == 86400 and interval_seconds(Schedule(every="30s"), NOW) == 30


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [backoff(n, 5, 60) for n in (1, 2, 3, 4, 5)] == [5, 10, 20, 40, 60]
