"""The benchmark's pure parts: its events are valid, its expected totals are right, its summary has every key."""

from datetime import UTC, datetime
from decimal import Decimal

from bench.phases import ChainResult, Options
from bench.report import figures, table
from bench.throughput import Measured
from bench.workload import COUNT_SNAPSHOT, Workload, generate
from shared.contracts.events import AcceptedEvent, EventV1
from shared.domain.catalog import Catalog
from shared.domain.hierarchy import Hierarchy
from shared.domain.validation import check_event

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_generated_events_pass_the_collectors_rules(catalog: Catalog, hierarchy: Hierarchy) -> None:
    workload = generate(hierarchy, 3000, seed=1, now=NOW)
    for raw in workload.events:
        assert check_event(EventV1.model_validate(raw, context={"now": NOW}), catalog, hierarchy) == []
    _, value = workload.messages(NOW)[0]
    assert AcceptedEvent.model_validate_json(value, context={"now": NOW}).source == "bench"


def test_province_totals_add_increments_and_take_the_latest_snapshot_per_commune() -> None:
    def event(i: int, indicator: str, unit: str, at: str, **measure: float) -> dict[str, object]:
        return {"event_id": f"00000000-0000-4000-8000-{i:012d}", "indicator": indicator, "unit": unit,
                "observed_at": f"2026-11-27T{at}+07:00", **measure}  # fmt: skip

    workload = Workload([
        event(1, "gov.satisfaction", "16000", "08:00:00", numerator=1, denominator=1),
        event(2, "gov.satisfaction", "16001", "08:00:00", numerator=0, denominator=1),
        event(3, "gov.eid_users", "16000", "09:00:00", numerator=5, denominator=10),
        event(4, "gov.eid_users", "16000", "08:00:00", numerator=9, denominator=10),  # older: ignored
        event(5, "gov.eid_users", "16001", "08:00:00", numerator=3, denominator=4),
        event(6, COUNT_SNAPSHOT, "16000", "08:00:00", value=1.0),
        event(7, COUNT_SNAPSHOT, "16001", "08:00:00", value=1.0),
    ])  # fmt: skip
    assert workload.province_totals() == {
        "gov.satisfaction": (1, 2, None),
        "gov.eid_users": (8, 14, None),
        COUNT_SNAPSHOT: (None, None, Decimal("2.0")),
    }
    assert workload.sums() == (7, 18, 26)


def test_summary_has_every_figure_of_the_issue_and_judges_the_targets() -> None:
    opts = Options(3, 1000, 1000, 100, 4, 500, True, 2000, 2000, 1.0, 100, 1)
    run = {
        "producer": Measured(40_000.0), "collector": Measured(24_000.0, 70.0, 5.0, 0.5, 6.0),
        "aggregator": Measured(18_000.0, 75.0, 7.0, 0.0, 10.0), "ceiling": 70_000.0, "naive": 1_500.0,
        "aggregator_x2": Measured(27_000.0, 76.0), "totals_exact": True, "totals_exact_x2": True,
    }  # fmt: skip
    segment = {"events": 10, "e2e_p50_s": 0.1, "e2e_p99_s": 0.3, "e2e_max_s": 0.4, "probes": 5,
               "reaction_p50_s": 0.1, "reaction_p99_s": 0.5}  # fmt: skip
    chain = ChainResult(0.2, 2017, 100, [segment] * 3, {"collector": 60.0, "aggregator": 80.0, "alerter": 90.0})
    result = figures(opts, [run, run, run], chain)
    result["machine"] = {}
    for key in ("collector_events_per_s", "producer_ceiling_events_per_s", "aggregator_events_per_s",
                "aggregator_ceiling_events_per_s", "naive_events_per_s", "e2e_p50_s", "e2e_p99_s",
                "alerter_full_eval_s", "alerter_reaction_p99_s", "rss_mb", "ratios", "totals_exact"):  # fmt: skip
        assert key in result
    assert result["ratios"]["aggregator_vs_naive"] == 12.0
    assert result["rss_mb"] == {"collector": 70.0, "aggregator": 80.0, "alerter": 90.0}
    assert result["targets_met"]["aggregator_events_per_s"] is False
    assert result["targets_met"]["collector_events_per_s"] is True
    assert "MISSED" in table(result)
