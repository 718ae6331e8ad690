"""The alerter's domain gauges cover the levels it is told to export, for units in force only."""

from datetime import date

import pytest
from prometheus_client import generate_latest
from pydantic import ValidationError

from services.alerter.evaluator import Current
from services.alerter.metrics import Snapshot, build_metrics
from services.alerter.settings import AlerterSettings
from shared.domain.hierarchy import Hierarchy

IND = "gov.eid_users"


def _exposition(hierarchy: Hierarchy, levels: frozenset[str] | None) -> str:
    metrics = build_metrics(levels)
    units = hierarchy.units_in_force(date(2026, 1, 1))
    current = {(IND, code): Current(40.0, None, None, carried_from=3) for code in ("38", "14758", "381")}
    metrics.domain.snapshot = Snapshot(current, {}, units)  # 381: a district, gone since 2025-07-01
    return generate_latest(metrics.registry).decode()


def test_only_the_listed_levels_of_units_in_force_are_exported(hierarchy: Hierarchy) -> None:
    text = _exposition(hierarchy, frozenset({"province", "district"}))
    assert f'dx_indicator_value{{indicator="{IND}",unit="38"}} 40.0' in text
    assert 'unit="14758"' not in text and 'unit="381"' not in text


def test_without_levels_every_unit_of_the_snapshot_is_exported(hierarchy: Hierarchy) -> None:
    text = _exposition(hierarchy, None)
    assert f'dx_indicator_carried_from_units{{indicator="{IND}",unit="14758"}} 3.0' in text


def test_an_unknown_level_is_refused_at_start_up() -> None:
    with pytest.raises(ValidationError, match="unknown level"):
        AlerterSettings(alerter_metrics_levels="province,xa")
    assert AlerterSettings().metrics_levels == {"province", "district"}
