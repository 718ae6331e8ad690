"""The history-scale figures in `make bench`'s final JSON line (bench/README.md, "History scale"): the history
phase (bench/history.py) for Thanh Hóa and for the synthetic national hierarchy (bench/national.py), the backfill
(bench/backfill.py), each optional; the keys are always there (null when their phase did not run)."""

from datetime import date
from pathlib import Path
from typing import Any

from bench import backfill, history, national
from bench.sizes import BEYOND_HORIZON

# The national history starts later: 2021 -> now at 20 x the units (~5.4 million events) takes longer to load than
# a session on 2 shared cores has (bench/README.md, "National size").
NATIONAL_START = date(2026, 1, 1)  # what stays once applied_events' old rows are gone


async def scale_phase(
    run_history: bool, run_national: bool, backfill_rows: int, repeats: int, root: Path
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if run_history:
        out["history"] = await history.run(history.HistoryOptions(history.HISTORY_START, repeats, 5, 3, None))
    if run_national:  # both sizes from NATIONAL_START: the cost per target compared on the same history
        folder = national.write()
        out["national"] = await history.run(history.HistoryOptions(NATIONAL_START, repeats, 5, 3, str(folder)))
        out["history_same_start"] = await history.run(history.HistoryOptions(NATIONAL_START, repeats, 5, 3, None))
    if backfill_rows:
        out["backfill"] = await backfill.measure(backfill_rows, ["csv", "xlsx"], root)
    return out


def scale_keys(scale: dict[str, Any], aggregator_events_per_s: float | None) -> dict[str, Any]:
    """The five keys of the final line, from whichever phases ran."""
    th, nat, fill = scale.get("history"), scale.get("national"), scale.get("backfill")
    same = scale.get("history_same_start")
    rate = fill["backfill_rows_per_s"] if fill else None
    return {
        "dashboard_query_p95_s": th["dashboard_query_p95_s"] if th else None,
        "alerter_full_eval_history_s": th["alerter_full_eval_s"] if th else None,
        "alerter_full_eval_national_s": nat["alerter_full_eval_s"] if nat else None,
        "alerter_cost_per_target_national_vs_history": (
            round(nat["alerter_full_eval_per_target_ms"] / same["alerter_full_eval_per_target_ms"], 2)
            if same and nat
            else None
        ),
        "backfill_rows_per_s": rate,
        "backfill_vs_aggregator": ratio(rate, aggregator_events_per_s),
        "durable_bytes_per_event": durable_bytes_per_event(th) if th else None,
        "durable_bytes_per_event_unpruned": unpruned_bytes_per_event(th) if th else None,
    }


def durable_bytes_per_event(result: dict[str, Any]) -> float:
    """Bytes of durable state per history event beyond the horizon."""
    total = sum(result["tables"].get(t, {"bytes": 0})["bytes"] for t in BEYOND_HORIZON)
    return round(float(total) / max(1, int(result["history_events"])), 1)


def unpruned_bytes_per_event(result: dict[str, Any]) -> float:
    """The same had no month been pruned: the aggregates without the floors, applied_events' months kept, and the
    bytes of the months pruned as they were when detached."""
    tables, events = result["tables"], max(1, int(result["history_events"]))
    aggregates = sum(tables[t]["bytes"] for t in BEYOND_HORIZON if t in tables and not t.endswith("_floor"))
    applied = tables["applied_events"]["bytes"] + int(result.get("pruned_bytes", 0))
    return round(float(aggregates + applied) / events, 1)


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None
