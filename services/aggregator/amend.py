"""Corrections and retractions, inside a batch's transaction (docs/events-and-topics.md, "Corrections and retractions").

An amendment names an event of its own source (`corrects` or `retracts`). It is judged against the events applied
so far, in offset order (an amendment of an amendment of the same batch sees the first): a duplicate is recorded and
skipped; one of an unknown, foreign, replaced or mismatched event is refused with a reason (recorded, and
dead-lettered by the consumer). An accepted one is stored, marks the original replaced, and its effect is exact:
the original's contribution leaves the buckets of its chain and the correction's enters them (integer arithmetic);
the snapshot days and period values it touched are recomputed from the events still in force; then every daily and
current value on the affected chains, their later days and the units that carry them (lineage) are recomputed, an
emptied one becoming NULL (no data) as if the original had never been sent.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import asyncpg

from services.aggregator import amendments_store, store
from services.aggregator.decode import Fact
from services.aggregator.fold import Plan, SeriesDay, SeriesSum, add_fact, plan_series
from shared.domain.catalog import Catalog, Semantics
from shared.domain.hierarchy import Hierarchy
from shared.domain.horizon import beyond_horizon, month_of
from shared.domain.rollup import chain


@dataclass(frozen=True)
class Refusal:
    partition: int
    offset: int
    errors: list[str]


@dataclass
class Judged:
    """The amendments of a batch: how many took effect, were duplicates, were refused; what they changed."""

    applied: int = 0
    duplicates: int = 0
    refused: list[Refusal] = field(default_factory=list)
    removed: list[Fact] = field(default_factory=list)  # the originals' contributions to take out
    added: list[Fact] = field(default_factory=list)  # the corrections' contributions to put in


async def judge(conn: asyncpg.Connection, amendments: Iterable[tuple[int, int, Fact]]) -> Judged:
    """Judge and store each amendment in offset order; returns what the accepted ones remove and add. The events
    they name and their own ids are read in two statements, then each is decided in memory over what the ones
    before it accepted (a correction of a correction of the same transaction sees the first) and the writes go in
    pipelines: one statement per amendment, five round trips each, took ~0.5 s of a 100,000-event benchmark
    transaction."""
    todo = list(amendments)
    applied = await amendments_store.applied_among(conn, [(f.source, f.event_id) for _, _, f in todo])
    rows = await amendments_store.originals(conn, [(f.source, f.amends) for _, _, f in todo if f.amends])
    kept_from = await amendments_store.kept_from(conn)
    out, accepted, refusals = Judged(), list[tuple[int, int, Fact]](), list[tuple[int, int, Fact, str]]()
    for partition, offset, fact in todo:
        assert fact.amends is not None
        if kept_from is not None and month_of(fact.received_at) < kept_from:  # as store.insert_new_events
            reason = beyond_horizon(kept_from)
            refusals.append((partition, offset, fact, reason))
            out.refused.append(Refusal(partition, offset, [reason]))
            continue
        if (fact.source, fact.event_id) in applied:  # a replay or a resend: counted once
            refusals.append((partition, offset, fact, "duplicate: event_id: already applied"))
            out.duplicates += 1
            continue
        original = rows.get((fact.source, fact.amends))
        if original is not None and original["kafka_partition"] == partition and original["kafka_offset"] > offset:
            original = None  # of this batch, but after the amendment on its partition: not applied before it
        error = await _missing(conn, fact, applied, kept_from) if original is None else mismatch(fact, original)
        if error is not None:
            refusals.append((partition, offset, fact, error))
            out.refused.append(Refusal(partition, offset, [error]))
            continue
        assert original is not None
        accepted.append((partition, offset, fact))
        applied.add((fact.source, fact.event_id))
        rows[(fact.source, fact.amends)] = {**original, "replaced_by": fact.event_id}
        rows[(fact.source, fact.event_id)] = amendments_store.row_of(partition, offset, fact)
        out.applied += 1
        out.removed.append(store.fact_of_row(original))
        if fact.corrects is not None:
            out.added.append(fact)
    await amendments_store.refuse_all(conn, refusals)
    await amendments_store.accept_all(conn, accepted)
    return out


def mismatch(fact: Fact, original: Any) -> str | None:
    """Why `fact` may not amend `original` (an applied event of the same source), or None."""
    field_name = "corrects" if fact.corrects is not None else "retracts"
    if original["replaced_by"] is not None:
        return (f"original_replaced: {field_name}: event {fact.amends} was already replaced by "
                f"{original['replaced_by']}; amend that one")  # fmt: skip
    if original["retracts"] is not None:
        return f"original_is_retraction: {field_name}: event {fact.amends} is a retraction; send the event anew"
    if (original["indicator"], original["unit"]) != (fact.indicator, fact.unit):
        return (f"original_mismatch: {field_name}: event {fact.amends} is {original['indicator']} of unit "
                f"{original['unit']}, not {fact.indicator} of unit {fact.unit}")  # fmt: skip
    return None


async def _missing(conn: asyncpg.Connection, fact: Fact, applied: set[tuple[str, str]], kept_from: date | None) -> str:
    """Why no original was found: another source's event of that id (applied, or accepted just now), or none."""
    field_name = "corrects" if fact.corrects is not None else "retracts"
    assert fact.amends is not None
    elsewhere = any(e == fact.amends and s != fact.source for s, e in applied)
    if elsewhere or await amendments_store.applied_elsewhere(conn, fact.amends, fact.source):
        return (f"foreign_original: {field_name}: event {fact.amends} was sent by another source; only that source "
                f"(or an operator with dx) may amend it")  # fmt: skip
    if kept_from is not None:  # read once per judge, above
        return (f"unknown_original: {field_name}: no event {fact.amends} of source {fact.source} has been applied "
                f"since {kept_from.isoformat()} (the events received before were pruned: they can no longer be "
                "amended)")  # fmt: skip
    return f"unknown_original: {field_name}: no event {fact.amends} of source {fact.source} has been applied"


def signed_series(removed: Iterable[Fact], added: Iterable[Fact]) -> dict[SeriesDay, SeriesSum]:
    """The contributions per series-day: the added facts' sums minus the removed ones' (events counted alike)."""
    series: dict[SeriesDay, SeriesSum] = {}
    for fact in added:
        add_fact(series, fact)
    for f in removed:
        key = (f.indicator, f.unit, f.day)
        s = series.get(key)
        if s is None:
            series[key] = SeriesSum(-(f.numerator or 0), -(f.denominator or 0), -1, f.observed_at, f.event_id,
                                    None, None, None)  # fmt: skip
        else:
            s.numerator -= f.numerator or 0
            s.denominator -= f.denominator or 0
            s.events -= 1
    return series


@dataclass(frozen=True)
class Effect:
    plan: Plan  # buckets to add (signed), daily and current values to recompute, late days
    bucket_order: list[tuple[SeriesDay, int]]  # the buckets touched and their place on their chain (0: reporting)
    snapshot_days: list[SeriesDay]  # to recompute from the events in force
    periods: list[tuple[str, str, str]]  # (indicator, unit, period) to recompute from the events in force


def effect(judged: Judged, catalog: Catalog, hierarchy: Hierarchy, today: date) -> Effect:
    """What the accepted amendments change (pure)."""
    series = signed_series(judged.removed, judged.added)
    work = plan_series(series, catalog, hierarchy, today)
    snapshot_days = sorted(k for k in series if catalog[k[0]].semantics is Semantics.SNAPSHOT)
    periods = sorted({(f.indicator, f.unit, f.period) for f in [*judged.removed, *judged.added] if f.period})
    place: dict[SeriesDay, int] = {}
    for f in [*judged.removed, *judged.added]:
        for i, unit in enumerate(chain(hierarchy, f.unit, f.day)):
            if (f.indicator, unit, f.day) in work.buckets:
                place[(f.indicator, unit, f.day)] = i
    order = sorted(place.items(), key=lambda item: (item[1], item[0]))
    return Effect(work, order, snapshot_days, periods)
