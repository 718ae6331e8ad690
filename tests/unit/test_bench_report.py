"""The benchmark's pure parts: its events are valid, its expected totals are right, its summary has every key."""

from datetime import UTC, date, datetime
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


def test_province_totals_add_increments_and_take_the_latest_snapshot_per_commune(hierarchy: Hierarchy) -> None:
    def event(i: int, indicator: str, unit: str, at: str, **measure: float) -> dict[str, object]:
        return {"event_id": f"00000000-0000-4000-8000-{i:012d}", "indicator": indicator, "unit": unit,
                "observed_at": f"2026-11-27T{at}+07:00", **measure}  # fmt: skip

    workload = Workload([
        event(1, "gov.satisfaction", "14797", "08:00:00", numerator=1, denominator=1),
        event(2, "gov.satisfaction", "14812", "08:00:00", numerator=0, denominator=1),
        event(3, "gov.eid_users", "14797", "09:00:00", numerator=5, denominator=10),
        event(4, "gov.eid_users", "14797", "08:00:00", numerator=9, denominator=10),  # older: ignored
        event(5, "gov.eid_users", "14812", "08:00:00", numerator=3, denominator=4),
        event(6, COUNT_SNAPSHOT, "14797", "08:00:00", value=1.0),
        event(7, COUNT_SNAPSHOT, "14812", "08:00:00", value=1.0),
    ])  # fmt: skip
    assert workload.province_totals(hierarchy, NOW.date()) == {
        "gov.satisfaction": (1, 2, None),
        "gov.eid_users": (8, 14, None),
        COUNT_SNAPSHOT: (None, None, Decimal("2.0")),
    }
    assert workload.sums() == (7, 18, 26)


def test_province_totals_put_corrections_in_their_originals_place_and_leave_retracted_events_out(
    hierarchy: Hierarchy,
) -> None:
    def event(i: int, indicator: str, unit: str, **fields: object) -> dict[str, object]:
        return {"event_id": f"00000000-0000-4000-8000-{i:012d}", "indicator": indicator, "unit": unit,
                "observed_at": "2026-11-27T08:00:00+07:00", **fields}  # fmt: skip

    def of(i: int) -> str:
        return f"00000000-0000-4000-8000-{i:012d}"

    workload = Workload([
        event(1, "gov.satisfaction", "14797", numerator=1, denominator=1),
        event(2, "gov.satisfaction", "14812", numerator=0, denominator=1),
        event(3, "gov.eid_users", "14797", numerator=5, denominator=10),
        event(4, "gov.satisfaction", "14797", numerator=0, denominator=1, corrects=of(1)),
        event(5, "gov.satisfaction", "14812", retracts=of(2)),
        event(6, "gov.eid_users", "14797", numerator=7, denominator=10, corrects=of(3)),
        event(7, "gov.eid_users", "14797", numerator=8, denominator=10, corrects=of(6)),  # a correction corrected
    ])  # fmt: skip
    assert [e["event_id"] for e in workload.in_force()] == [of(4), of(7)]
    assert workload.province_totals(hierarchy, NOW.date()) == {
        "gov.satisfaction": (0, 1, None),
        "gov.eid_users": (8, 10, None),
    }
    assert workload.amendments() == 4
    assert workload.sums() == (7, 1 + 5 + 7 + 8, 1 + 1 + 10 + 1 + 10 + 10)  # every row, as applied_events keeps them


def test_the_workload_amends_earlier_events_in_force_on_their_own_key(hierarchy: Hierarchy) -> None:
    workload = generate(hierarchy, 20_000, seed=3, now=NOW)
    seen: dict[str, dict[str, object]] = {}
    amended: set[str] = set()
    for e in workload.events:
        amends = e.get("corrects") or e.get("retracts")
        if amends is not None:
            original = seen[amends]  # earlier in the stream
            assert "retracts" not in original and amends not in amended
            assert (original["indicator"], original["unit"]) == (e["indicator"], e["unit"])  # the same key
            amended.add(amends)
        seen[e["event_id"]] = e
    assert 20 < workload.amendments() < 60  # 0.2 % of 20,000
    corrections = sum(1 for e in workload.events if "corrects" in e)
    assert 0.3 < corrections / workload.amendments() < 0.7


def test_the_workload_has_pre_reform_history_and_post_reform_traffic(hierarchy: Hierarchy) -> None:
    events = generate(hierarchy, 3000, seed=1, now=NOW).events
    days = {datetime.fromisoformat(e["observed_at"]).date() for e in events}
    assert days == {date(2024, 12, 15), date(2025, 6, 15), date(2026, 11, 27)}
    old = [e for e in events if e["observed_at"].startswith("2024-12-15")]
    assert 100 < len(old) < 200  # about half of the 10 % history share
    assert all(hierarchy.resolve(e["unit"], date(2024, 12, 15)) is not None for e in old)
    assert any(hierarchy.resolve(e["unit"], date(2026, 11, 27)) is None for e in old)  # merged away since


def test_province_totals_follow_the_lineage_across_the_reform(hierarchy: Hierarchy) -> None:
    def event(i: int, indicator: str, unit: str, at: str, **measure: float) -> dict[str, object]:
        return {"event_id": f"00000000-0000-4000-8000-{i:012d}", "indicator": indicator, "unit": unit,
                "observed_at": f"{at}+07:00", **measure}  # fmt: skip

    workload = Workload([
        event(1, "gov.eid_users", "14755", "2024-12-15T08:00:00", numerator=1, denominator=2),  # → Hàm Rồng
        event(2, "gov.eid_users", "14761", "2025-06-15T08:00:00", numerator=3, denominator=4),  # → Hàm Rồng
        event(3, "gov.eid_users", "14809", "2025-06-15T08:00:00", numerator=5, denominator=8),  # → 14818
        event(4, "gov.eid_users", "14818", "2026-11-27T08:00:00", numerator=7, denominator=10),  # supersedes 3
        event(5, "gov.eid_users", "16435", "2025-06-15T08:00:00", numerator=1, denominator=1),  # divided, no heir
        event(6, "gov.satisfaction", "14755", "2024-12-15T08:00:00", numerator=1, denominator=1),  # out of window
        event(7, "gov.satisfaction", "14758", "2026-11-27T08:00:00", numerator=0, denominator=1),
    ])  # fmt: skip
    assert workload.province_totals(hierarchy, NOW.date()) == {
        "gov.eid_users": (1 + 3 + 7, 2 + 4 + 10, None),
        "gov.satisfaction": (0, 1, None),
    }


def test_summary_has_every_figure_of_the_issue_and_judges_the_targets() -> None:
    opts = Options(3, 1000, 1000, 100, 4, 500, True, 2000, 2000, 1.0, 100, 1)
    run = {
        "producer": Measured(40_000.0), "collector": Measured(24_000.0, 70.0, 5.0, 0.5, 6.0),
        "aggregator": Measured(18_000.0, 75.0, 7.0, 0.0, 10.0), "ceiling": 70_000.0, "naive": 1_500.0,
        "aggregator_x2": Measured(27_000.0, 76.0), "totals_exact": True, "totals_exact_x2": True,
        "events": 1000, "amendments": 2,
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
    assert result["aggregator_workload"] == {"events": 1000, "amendments": 2, "amendment_share": 0.002}
    assert "2 of them corrections or retractions (0.2 %)" in table(result)


def test_history_events_have_ids_of_their_own(hierarchy: Hierarchy) -> None:
    events = generate(hierarchy, 3000, seed=1, now=NOW).events
    assert len({e["event_id"] for e in events}) == 3000


def test_the_final_line_has_the_history_scale_keys_whichever_phases_ran() -> None:
    from bench.scale import scale_keys

    keys = {"dashboard_query_p95_s", "alerter_full_eval_history_s", "alerter_full_eval_national_s",
            "backfill_rows_per_s", "durable_bytes_per_event"}  # fmt: skip
    none = scale_keys({}, 60_000.0)
    assert keys <= none.keys() and all(none[k] is None for k in keys)
    kept = ("agg_buckets", "agg_snapshot_days", "period_values", "daily_values", "current_values", "agg_snapshot_floor")
    tables = {t: {"rows": 1, "bytes": 1000} for t in kept}
    tables["applied_events"] = {"rows": 10, "bytes": 2000}  # the months kept
    th = {"dashboard_query_p95_s": 0.05, "alerter_full_eval_s": 1.0, "alerter_full_eval_per_target_ms": 0.5,
          "history_events": 100, "tables": tables, "pruned_bytes": 18_000}  # fmt: skip
    nat = {**th, "alerter_full_eval_s": 19.0, "alerter_full_eval_per_target_ms": 0.6}
    same = {**th, "alerter_full_eval_per_target_ms": 0.4}
    phases = {"history": th, "national": nat, "history_same_start": same, "backfill": {"backfill_rows_per_s": 30_000}}
    got = scale_keys(phases, 60_000.0)
    assert got["dashboard_query_p95_s"] == 0.05 and got["alerter_full_eval_history_s"] == 1.0
    assert got["alerter_full_eval_national_s"] == 19.0
    assert got["alerter_cost_per_target_national_vs_history"] == 1.5
    assert got["backfill_rows_per_s"] == 30_000 and got["backfill_vs_aggregator"] == 0.5
    assert got["durable_bytes_per_event"] == 60.0  # 6 tables of 1,000 B over 100 events: applied_events has gone
    assert got["durable_bytes_per_event_unpruned"] == 250.0  # 5,000 B of aggregates, 2,000 kept and 18,000 pruned
