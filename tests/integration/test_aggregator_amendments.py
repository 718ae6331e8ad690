"""Corrections and retractions against the real broker and database: the amended history equals, table by table,
the history of a database that only ever received the events in force; amendments replayed count once; event ids
are per source; refusals are recorded and dead-lettered with their reason."""

import uuid
from typing import Any

import orjson

from shared.settings import Settings
from testing.sandbox import sandbox
from tests.integration.test_aggregator_delivery import _read_all
from tests.integration.test_aggregator_harness import LEVEL4, SATISFACTION, current, event, fetch, running, send
from tests.support.env import eventually

DTI = "overall.dti_rank"


def correction(original: dict[str, Any], **measures: Any) -> dict[str, Any]:
    """A correction of `original`: a new event_id, the original's indicator, unit and observed_at unless given."""
    body = {k: v for k, v in original.items() if k not in ("numerator", "denominator", "value")}
    return {**body, **measures, "event_id": str(uuid.uuid4()), "corrects": original["event_id"]}


def retraction(original: dict[str, Any], observed_at: str = "2026-11-30T08:00:00+07:00") -> dict[str, Any]:
    keep = ("indicator", "unit", "source", "received_at")
    return {**{k: original[k] for k in keep}, "event_id": str(uuid.uuid4()), "observed_at": observed_at,
            "retracts": original["event_id"]}  # fmt: skip


def plain(amendment: dict[str, Any]) -> dict[str, Any]:
    """The correction as the ordinary event a source would have sent had it been right the first time."""
    return {k: v for k, v in amendment.items() if k != "corrects"}


def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(what is sent, what a never-amended database receives instead, the amendments replayed)."""
    a1 = event(SATISFACTION, "14758", "2026-11-01T09:00:00+07:00", 3, 10)
    a2 = event(SATISFACTION, "14758", "2026-11-01T10:00:00+07:00", 5, 10)
    a3 = event(SATISFACTION, "14812", "2026-10-15T09:00:00+07:00", 7, 20)
    a4 = event(SATISFACTION, "14755", "2025-02-10T09:00:00+07:00", 4, 10)  # before the reform: carried (lineage)
    a5 = event(SATISFACTION, "14797", "2026-09-01T09:00:00+07:00", 1, 4)
    a6 = event(SATISFACTION, "14818", "2026-11-20T09:00:00+07:00", 6, 6)  # the unit's only event
    # a2's day in another commune, earlier than a1: once a2 is retracted, the province's bucket of that day was last
    # observed at a1 (the latest of its children's, sql.BUCKET_LAST_OF_CHILDREN), not at a7
    a7 = event(SATISFACTION, "14797", "2026-11-01T08:00:00+07:00", 2, 10)
    s1 = event(LEVEL4, "14758", "2026-11-01T09:00:00+07:00", 50, 100)
    s2 = event(LEVEL4, "14758", "2026-11-01T10:00:00+07:00", 60, 100)  # the day's latest, then retracted
    s3 = event(LEVEL4, "14812", "2026-10-01T09:00:00+07:00", 10, 20)
    s4 = event(LEVEL4, "14797", "2025-03-01T09:00:00+07:00", 1, 2)  # before the reform: carried (lineage)
    d1 = {**event(DTI, "38", "2025-10-20T09:00:00+07:00", value=12.0), "period": "2024"}
    originals = [a1, a2, a3, a4, a5, a6, a7, s1, s2, s3, s4, d1]
    c3 = correction(a3, numerator=8, denominator=20)
    c3b = correction(c3, numerator=9, denominator=20)  # a correction of a correction
    c5 = correction(a5, numerator=2, denominator=4, observed_at="2026-09-02T09:00:00+07:00")  # another day
    cs3 = correction(s3, numerator=15, denominator=20)
    cs4 = correction(s4, numerator=2, denominator=2)
    cd1 = correction(d1, value=11.0)
    retracted = [retraction(a2), retraction(a4), retraction(a6), retraction(s2)]
    amendments = [c3, c3b, c5, cs3, cs4, cd1, *retracted]
    in_force = [a1, a7, plain(c3b), plain(c5), s1, plain(cs3), plain(cs4), plain(cd1)]
    return originals + amendments, in_force, [c3, retracted[0], cs3]


TABLES = {
    "current_values": "SELECT * FROM current_values WHERE value IS NOT NULL",
    "daily_values": "SELECT * FROM daily_values ORDER BY indicator, unit, day",
    # floor_observed_at is what pruned months left (docs/storage.md), not a value
    "agg_buckets": "SELECT indicator, unit, day, numerator, denominator, events, last_observed_at FROM agg_buckets",
    "agg_snapshot_days": "SELECT * FROM agg_snapshot_days",
    "period_values": "SELECT * FROM period_values",
}


async def tables(settings: Settings) -> dict[str, set[tuple[Any, ...]]]:
    out = {}
    for name, query in TABLES.items():
        rows = [dict(r) for r in await fetch(settings, query)]
        if name == "daily_values":
            rows = steps(rows)
        out[name] = {tuple((k, v) for k, v in r.items() if k != "updated_at") for r in rows}
    return out


def steps(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The daily history as the values it steps through: a row that repeats the day before (an amendment recomputes
    days on which, without the wrong event, nothing changed) or says "no data" before any data says nothing new."""
    out: list[dict[str, Any]] = []
    before: dict[tuple[str, str], Any] = {}
    for r in rows:
        series = (r["indicator"], r["unit"])
        figures = None if r["value"] is None else (r["value"], r["numerator"], r["denominator"], r["coverage"])
        if before.get(series) != figures:
            out.append(r)
        before[series] = figures
    return out


async def counted(settings: Settings, applied: int, refused: int) -> bool:
    rows = await fetch(
        settings, "SELECT (SELECT count(*) FROM applied_events) AS a, (SELECT count(*) FROM event_refusals) AS r"
    )
    return bool(rows[0]["a"] == applied and rows[0]["r"] == refused)


async def test_the_amended_history_equals_the_history_without_the_wrong_events(isolated, settings, catalog, hierarchy):
    sent, in_force, replayed = scenario()
    async with running(isolated):
        await send(isolated, sent)
        await eventually(lambda: counted(isolated, len(sent), 0))
        await send(isolated, replayed)  # a replay counts once: recorded as duplicates, nothing changes
        await eventually(lambda: counted(isolated, len(sent), len(replayed)))
    async with sandbox(settings, catalog, hierarchy) as reference:
        async with running(reference):
            await send(reference, in_force)
            await eventually(lambda: counted(reference, len(in_force), 0))
        expected = await tables(reference)
    found = await tables(isolated)
    for name in TABLES:
        assert found[name] == expected[name], name
    # what the retractions emptied says so (NULL: no data) instead of keeping the retracted value
    gone = await current(isolated, SATISFACTION, "14818")
    assert gone["value"] is None and gone["numerator"] == 0
    emptied = await fetch(isolated, "SELECT value FROM daily_values WHERE unit = '14818' AND day = '2026-11-20'")
    assert [r["value"] for r in emptied] == [None]
    reasons = await fetch(isolated, "SELECT reason FROM event_refusals")
    assert {r["reason"].split(":")[0] for r in reasons} == {"duplicate"}


async def test_amendments_in_a_transaction_of_many_batches_judge_as_the_batches_would_one_by_one(
    isolated, settings, catalog, hierarchy
):
    """The whole scenario waits in Kafka before the aggregator starts, so batches of 4 join transactions that hold
    amendments and the originals they amend, and a correction that precedes its original on the partition."""
    sent, in_force, _ = scenario()
    late = event(SATISFACTION, "14845", "2026-11-03T09:00:00+07:00", 2, 5)
    early = correction(late, numerator=1, denominator=5)  # before its original: refused, the original counts
    await send(isolated, [early, *sent, late])
    async with running(isolated, aggregator_max_records=4, aggregator_transaction_events=10_000):
        await eventually(lambda: counted(isolated, len(sent) + 1, 1), timeout=60)
    joined = await fetch(
        isolated,
        """
        SELECT xmin::text AS tx, count(*) AS n, count(*) FILTER (WHERE corrects IS NOT NULL OR retracts IS NOT NULL)
               AS amendments
        FROM applied_events GROUP BY 1""",
    )  # rows one transaction wrote share its xmin
    assert any(r["n"] > 4 and r["amendments"] for r in joined), joined  # amendments joined a transaction of batches
    async with sandbox(settings, catalog, hierarchy) as reference:
        async with running(reference):
            await send(reference, [*in_force, late])
            await eventually(lambda: counted(reference, len(in_force) + 1, 0))
        expected = await tables(reference)
    found = await tables(isolated)
    for name in TABLES:
        assert found[name] == expected[name], name
    reasons = await fetch(isolated, "SELECT event_id::text AS id, reason FROM event_refusals")
    assert [(r["id"], r["reason"].split(":")[0]) for r in reasons] == [(early["event_id"], "unknown_original")]
    (letter,) = [orjson.loads(r.value) for r in await _read_all(isolated, isolated.topic_deadletter, 1)]
    assert orjson.loads(letter["original"])["event_id"] == early["event_id"]  # from the transaction's first batch
    assert letter["reason"].startswith("unknown_original")


async def test_a_second_source_with_the_same_event_id_does_not_shadow_the_first(isolated):
    first = event(SATISFACTION, "14758", "2026-11-01T09:00:00+07:00", 3, 10)
    second = {**event(SATISFACTION, "14812", "2026-11-01T09:00:00+07:00", 5, 10), "event_id": first["event_id"],
              "source": "other"}  # fmt: skip
    async with running(isolated):
        await send(isolated, [second, first])
        await eventually(lambda: counted(isolated, 2, 0))
    province = await current(isolated, SATISFACTION, "38")
    assert (province["numerator"], province["denominator"]) == (8, 20)


async def test_an_amendment_of_a_foreign_unknown_or_replaced_event_is_refused_and_dead_lettered(isolated):
    mine = event(SATISFACTION, "14758", "2026-11-01T09:00:00+07:00", 3, 10)
    foreign = {**retraction(mine), "source": "other"}  # another source names my event
    unknown = retraction({**mine, "event_id": str(uuid.uuid4())})
    first = correction(mine, numerator=4, denominator=10)
    stale = correction(mine, numerator=9, denominator=10)  # mine was replaced by `first` already
    other = event(SATISFACTION, "14758", "2026-11-02T09:00:00+07:00", 1, 10)
    wrong_unit = {**correction(other, numerator=1, denominator=10), "unit": "14812"}
    late = event(SATISFACTION, "14758", "2026-11-03T09:00:00+07:00", 2, 10)
    early = retraction(late)  # before its original on the partition: whatever the batches, not applied before it
    async with running(isolated):
        await send(isolated, [mine, other])
        await eventually(lambda: counted(isolated, 2, 0))
        await send(isolated, [foreign, unknown, first, stale, wrong_unit, early, late])
        await eventually(lambda: counted(isolated, 4, 5))
    rows = await fetch(isolated, "SELECT event_id::text AS id, reason FROM event_refusals")
    reasons = {r["id"]: r["reason"].split(":")[0] for r in rows}
    assert reasons == {foreign["event_id"]: "foreign_original", unknown["event_id"]: "unknown_original",
                       stale["event_id"]: "original_replaced", wrong_unit["event_id"]: "original_mismatch",
                       early["event_id"]: "unknown_original"}  # fmt: skip
    records = await _read_all(isolated, isolated.topic_deadletter, 5)
    letters = {orjson.loads(orjson.loads(r.value)["original"])["event_id"]: orjson.loads(r.value) for r in records}
    assert {k: v["reason"].split(":")[0] for k, v in letters.items()} == reasons
    assert all(v["service"] == "aggregator" for v in letters.values())
    province = await current(isolated, SATISFACTION, "38")
    assert (province["numerator"], province["denominator"]) == (7, 30)  # `first`, `other` and `late`
